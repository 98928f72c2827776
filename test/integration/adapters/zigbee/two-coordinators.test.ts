import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeWorkdir, runCli } from '../../support/daemon.js';

// zigbee-herdsman keeps its network state in process-wide statics, so a second coordinator in one daemon
// would be driven through the first one's stick: the daemon refuses the config instead of starting.
describe('two Zigbee adapters in one config', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  beforeEach(async () => {
    work = await makeWorkdir();
  });
  afterEach(() => work.cleanup());

  const config = (secondEnabled: boolean): string =>
    [
      'gateway:',
      '  id: test',
      `  stateDir: ${path.join(work.dir, 'state')}`,
      'adapters:',
      '  conbee:',
      '    type: zigbee',
      '    coordinator: deconz',
      '    serialPort: /dev/null-conbee',
      '  dongle:',
      '    type: zigbee',
      '    coordinator: ember',
      '    serialPort: /dev/null-dongle',
      ...(secondEnabled ? [] : ['    enabled: false']),
      '',
    ].join('\n');

  it('stops the daemon with exit 78 and points at the second adapter', async () => {
    const file = path.join(work.dir, 'fieldgate.yaml');
    await writeFile(file, config(true));
    const { code, stderr } = await runCli(['run', '--config', file]);
    expect(code).toBe(78);
    expect(stderr).toContain(`${file}:10:11: adapters.dongle.type: only one zigbee adapter`);
    expect(stderr).not.toContain('adapters.conbee');
  });

  it('accepts a second one that is disabled', async () => {
    const file = path.join(work.dir, 'fieldgate.yaml');
    await writeFile(file, config(false));
    const { code, stderr } = await runCli(['config', 'validate', '--config', file]);
    expect(stderr).not.toContain('only one zigbee adapter');
    expect(code).toBe(0);
  });
});
