import type { Fuzz } from './fuzz.js';

/** One way of breaking a config file; `describe` names it in the scenario's tally and in failures. */
export interface Mutation {
  kind: string;
  apply: (text: string, fuzz: Fuzz) => string | Buffer;
}

const lines = (text: string): string[] => text.split('\n');

/** Lines that hold a `key: value` pair (not comments, not blank), by index. */
function valueLines(text: string): number[] {
  return lines(text).flatMap((line, i) => (/^\s*[\w-]+:\s*\S/.test(line) && !/^\s*#/.test(line) ? [i] : []));
}

/** A random `key: value` line; a text already mangled beyond having any gets line 0. */
function pickValueLine(text: string, fuzz: Fuzz): number {
  const candidates = valueLines(text);
  return candidates.length === 0 ? 0 : fuzz.pick(candidates);
}

function replaceValue(text: string, fuzz: Fuzz, value: string): string {
  const all = lines(text);
  const index = pickValueLine(text, fuzz);
  all[index] = all[index]!.replace(/:\s.*$/, `: ${value}`);
  return all.join('\n');
}

const WRONG_TYPES = [
  '[1, 2, 3]',
  '{ a: 1 }',
  'true',
  '-1',
  '0',
  '1.5',
  'null',
  '~',
  '"just a string"',
  '1e309',
  '-.inf',
  '.nan',
  '0x7fffffff',
  '!!binary aGVsbG8=',
  '&anchor 5',
  '*undefined-alias',
  '!secret',
  '!secret does-not-exist',
  '${UNSET_VARIABLE_FOR_FUZZ}',
  '"${"',
  "'",
  '"',
  '|',
  '>-',
];

export const MUTATIONS: readonly Mutation[] = [
  {
    kind: 'delete lines',
    apply: (text, fuzz) => {
      const all = lines(text);
      const start = fuzz.int(0, all.length - 1);
      all.splice(start, fuzz.int(1, 8));
      return all.join('\n');
    },
  },
  { kind: 'wrong type', apply: (text, fuzz) => replaceValue(text, fuzz, fuzz.pick(WRONG_TYPES)) },
  {
    kind: 'bad indentation',
    apply: (text, fuzz) => {
      const all = lines(text);
      const index = pickValueLine(text, fuzz);
      all[index] = fuzz.chance(0.5)
        ? ' '.repeat(fuzz.int(1, 5)) + all[index]!
        : fuzz.chance(0.5)
          ? `\t${all[index]!}`
          : all[index]!.trimStart();
      return all.join('\n');
    },
  },
  {
    kind: 'huge value',
    apply: (text, fuzz) =>
      replaceValue(
        text,
        fuzz,
        fuzz.pick([
          'x'.repeat(fuzz.int(10_000, 2_000_000)),
          '9'.repeat(fuzz.int(20, 400)),
          `[${Array.from({ length: 50_000 }, (_, i) => i).join(',')}]`,
          `${'['.repeat(2000)}${']'.repeat(2000)}`,
          `${'{a: '.repeat(500)}1${'}'.repeat(500)}`,
          '999999999999PB',
          '-5GiB',
        ]),
      ),
  },
  {
    kind: 'binary garbage',
    apply: (text, fuzz) => {
      const source = Buffer.from(text);
      const at = fuzz.int(0, source.length);
      const garbage = fuzz.bytes(fuzz.int(1, 64));
      return fuzz.chance(0.2)
        ? fuzz.bytes(fuzz.int(1, 4096))
        : Buffer.concat([source.subarray(0, at), garbage, source.subarray(at)]);
    },
  },
  { kind: 'truncated', apply: (text, fuzz) => text.slice(0, fuzz.int(0, text.length - 1)) },
  {
    kind: 'duplicate or unknown key',
    apply: (text, fuzz) => {
      const all = lines(text);
      const index = pickValueLine(text, fuzz);
      const copy = fuzz.chance(0.5) ? all[index]! : all[index]!.replace(/[\w-]+:/, 'notAKey:');
      all.splice(index, 0, copy);
      return all.join('\n');
    },
  },
  {
    kind: 'yaml bomb',
    // Exponential alias expansion: the parser must refuse it, not hang or run out of memory.
    apply: (text) =>
      `${text}\nbomb0: &b0 [x, x, x, x, x, x, x, x, x]\n` +
      Array.from(
        { length: 9 },
        (_, i) => `bomb${i + 1}: &b${i + 1} [${Array(9).fill(`*b${i}`).join(', ')}]`,
      ).join('\n'),
  },
];
