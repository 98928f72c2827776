import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { formatIssue } from '../../../src/config/issues.js';
import { validateDocument } from '../../../src/config/validate.js';
import { parseYamlSource } from '../../../src/config/yaml-source.js';

/**
 * Nine levels of nine aliases each: billions of nodes if expanded (found by the config fuzzing in
 * test/reliability/bad-config.reliability.ts).
 */
const ALIAS_BOMB = [
  'gateway:',
  '  id: gw',
  'b0: &b0 [x, x, x, x, x, x, x, x, x]',
  ...Array.from({ length: 8 }, (_, i) => `b${i + 1}: &b${i + 1} [${Array(9).fill(`*b${i}`).join(', ')}]`),
].join('\n');

describe('validateDocument', () => {
  it('reports an alias bomb at its first alias instead of throwing', () => {
    const { source } = parseYamlSource(ALIAS_BOMB, 'bomb.yaml');
    const { config, issues } = validateDocument(source, []);
    expect(config).toBeUndefined();
    expect(issues.map(formatIssue)).toEqual([
      expect.stringMatching(/^bomb\.yaml:4:10: aliases cannot be expanded: .*alias count/),
    ]);
  });

  it('quotes a wrong value on one line and cut short', () => {
    const { source } = parseYamlSource(
      `queue:\n  commitMaxItems: "${'x'.repeat(5000)}\\nsecond line"\n`,
      'big.yaml',
    );
    const lines = validateDocument(source, []).issues.map(formatIssue);
    expect(lines).toEqual([
      expect.stringMatching(/^big\.yaml:2:19: queue\.commitMaxItems: .*"x+… \(5015 characters\)/),
    ]);
    expect(lines[0]!.length).toBeLessThan(300);
  });

  it('keeps an issue under a collection used as a key on one line', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    onTestFinished(() => warn.mockRestore());
    const { source } = parseYamlSource(
      `adapters:\n  ? - name: ${'a'.repeat(90)}\n      x: ${'b'.repeat(90)}\n  : 5\n`,
      'key.yaml',
    );
    const lines = validateDocument(source, []).issues.map(formatIssue);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^key\.yaml:\d+:\d+: [^\n]+$/);
    // The CLI's output is only these lines: no Node warning from the YAML library beside them.
    expect(warn).not.toHaveBeenCalled();
  });

  it('reports a document too deeply nested to read instead of crashing (exit 1)', () => {
    const { source } = parseYamlSource('gateway:\n  id: gw\n', 'deep.yaml');
    // What the YAML library does for collections nested a few thousand deep, depending on the stack left.
    const overflowing = Object.assign(Object.create(source.doc) as typeof source.doc, {
      toJS: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    });
    const { config, issues } = validateDocument({ ...source, doc: overflowing }, []);
    expect(config).toBeUndefined();
    expect(issues.map(formatIssue)).toEqual(['deep.yaml:1:1: the document nests too deeply to be read']);
  });

  it('still expands a few ordinary aliases', () => {
    const { source } = parseYamlSource('gateway:\n  id: &id gw\n  stateDir: *id\n', 'ok.yaml');
    expect(validateDocument(source, []).config?.gateway).toMatchObject({ id: 'gw', stateDir: 'gw' });
  });
});

describe('a wrong type or union value', () => {
  const lines = (yaml: string) =>
    validateDocument(parseYamlSource(yaml, 't.yaml').source, []).issues.map(formatIssue);

  it('names the unknown adapter type, the valid ones and the likely one', () => {
    expect(lines('adapters:\n  z:\n    type: zigbe\n')).toEqual([
      't.yaml:3:11: adapters.z.type: unknown adapter type "zigbe"; expected one of ble, sim, zigbee, zwave (did you mean "zigbee"?)',
    ]);
  });

  it('names a missing upstream type and the valid ones', () => {
    expect(lines('routes:\n  r:\n    upstream:\n      url: mqtt://x\n')).toEqual([
      't.yaml:4:7: routes.r.upstream.type: missing upstream type; expected one of aws, azure, mqtt',
    ]);
  });

  it('lists the alternatives of a union instead of "Invalid input"', () => {
    expect(lines('queue:\n  maxBytes: lots\n')).toEqual([
      't.yaml:2:13: queue.maxBytes: expected number, or expected a size such as 512MB or 1GiB',
    ]);
  });
});
