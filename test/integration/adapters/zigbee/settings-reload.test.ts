import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import zigbeeDefinition from '../../../../adapters/zigbee/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { loadConfig } from '../../../../src/config/load.js';
import { silentLogger } from '../../../../src/logger.js';
import type { DeviceInfo } from '../../../../src/model.js';
import { Runtime } from '../../../../src/runtime.js';
import { installFakeAir, type FakeAir } from '../../../fakes/zigbee/fake-coordinator.js';
import { eventually, RecordingContext } from '../../../fakes/zigbee/recording-context.js';
import type { VirtualDevice } from '../../../fakes/zigbee/virtual-device.js';
import { gluonThermostat } from '../../../fixtures/zigbee/devices.js';

// Real zigbee-herdsman Controller and zigbee-herdsman-converters (the Gluon ST001 definition, whose exposes
// are a function of its converter options); only the coordinator below herdsman's Adapter seam is fake.

let seam: ReturnType<typeof installFakeAir> | undefined;
let air: FakeAir;
let ctx: RecordingContext;
let adapter: Adapter | undefined;

afterEach(async () => {
  await adapter?.stop();
  seam?.restore();
  await ctx.dispose();
  adapter = undefined;
});

const idOf = (device: VirtualDevice): string => `zigbee:${device.ieeeAddr}`;
const commandNames = (info: DeviceInfo | undefined): string[] =>
  info?.capabilities.commands.map((c) => c.name) ?? [];

describe('Zigbee converter options changed by a reload', () => {
  it('advertises the capabilities the new options give, without a re-interview', async () => {
    seam = installFakeAir();
    air = seam.air;
    ctx = await RecordingContext.create();
    adapter = zigbeeDefinition.create({
      coordinator: 'ember',
      serialPort: '/dev/ttyFAKE',
      reopen: { initialMs: 20, maxMs: 100 },
    });
    await adapter.start(ctx);
    const thermostat = gluonThermostat();
    air.coordinator.join(thermostat);
    const before = await eventually(() => {
      const info = ctx.devices.get(idOf(thermostat));
      return info?.model !== undefined && info.capabilities.values.length > 1 && info;
    }, 'the thermostat to be identified');
    expect(before.model).toBe('ST001');
    expect(before.capabilities.values).not.toContain('state');
    expect(commandNames(before)).not.toContain('on');

    const zdoBefore = air.coordinator.sent.filter((f) => f.kind === 'zdo').length;
    ctx.settings.set(idOf(thermostat), {
      converterOptions: { expose_device_state: true, control_sequence_of_operation: 'cooling_only' },
    });
    adapter.settingsChanged!();

    const after = await eventually(() => {
      const info = ctx.devices.get(idOf(thermostat));
      return info?.capabilities.values.includes('state') === true && info;
    }, 'the thermostat to advertise its on/off state');
    expect(commandNames(after)).toEqual(expect.arrayContaining(['on', 'off']));
    const setArgs = after.capabilities.commands.find((c) => c.name === 'set')?.args;
    expect(setArgs?.systemMode).toMatchObject({ enum: ['off', 'cool', 'fan_only'] });
    // No re-interview: herdsman asked the device for no descriptors.
    expect(air.coordinator.sent.filter((f) => f.kind === 'zdo').length).toBe(zdoBefore);
  });
});

describe('Zigbee converter options changed in the config file of a running gateway', () => {
  let dir: string | undefined;
  let runtime: Runtime | undefined;

  afterEach(async () => {
    await runtime?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    runtime = undefined;
    dir = undefined;
  });

  it('shows the new capabilities in the device list after a reload', async () => {
    seam = installFakeAir();
    air = seam.air;
    ctx = await RecordingContext.create(); // unused here; afterEach disposes it
    dir = await mkdtemp(path.join(os.tmpdir(), 'fg-zigbee-reload-'));
    const thermostat = gluonThermostat();
    const configFile = path.join(dir, 'fieldgate.yaml');
    const config = (options: string): string =>
      [
        'gateway:',
        '  id: reload-test',
        '  stateDir: ./state',
        'control:',
        "  socket: ''",
        'adapters:',
        '  zigbee:',
        '    type: zigbee',
        '    coordinator: ember',
        '    serialPort: /dev/ttyFAKE',
        'devices:',
        `  zigbee:${thermostat.ieeeAddr}:`,
        `    converterOptions: ${options}`,
        '',
      ].join('\n');
    await writeFile(configFile, config('{ expose_device_state: false }'));
    runtime = new Runtime({
      config: (await loadConfig(configFile)).config,
      log: silentLogger(),
      version: 'test',
    });
    await runtime.start();
    await eventually(
      () => air.coordinators.length > 0 && runtime!.status().adapters[0]?.state === 'running',
      'the coordinator to open',
    );
    air.coordinator.join(thermostat);
    const id = idOf(thermostat);
    const before = await eventually(() => {
      const info = runtime!.devices.get(id)?.info;
      return info?.model === 'ST001' && info.capabilities.values.length > 1 && info;
    }, 'the thermostat to be listed');
    expect(commandNames(before)).not.toContain('on');

    await writeFile(configFile, config('{ expose_device_state: true }'));
    const result = runtime.reload((await loadConfig(configFile)).config);
    expect(result.applied).toContain('devices');

    const after = await eventually(() => {
      const info = runtime!.devices.get(id)?.info;
      return commandNames(info).includes('on') && info;
    }, 'the thermostat to list its on/off commands');
    expect(after.capabilities.values).toContain('state');
  });
});
