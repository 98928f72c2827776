import { afterEach, describe, expect, it } from 'vitest';
import { setLogger } from 'zigbee-herdsman';
import * as deconzDriverModule from 'zigbee-herdsman/dist/adapter/deconz/driver/driver.js';
import type { Controller } from 'zigbee-herdsman';
import { guardDeconzSocketClose, retireDeconzDriver } from '../../../../adapters/zigbee/deconz-link.js';
import zigbeeDefinition from '../../../../adapters/zigbee/index.js';
import type { Adapter } from '../../../../adapters/adapter.js';
import { silentLogger } from '../../../../src/logger.js';
import { CoordinatorBox } from '../../../fakes/zigbee/coordinator-box.js';
import { installFakeAir, type FakeAir } from '../../../fakes/zigbee/fake-coordinator.js';
import { eventually, RecordingContext } from '../../../fakes/zigbee/recording-context.js';
import { ikeaOutlet } from '../../../fixtures/zigbee/devices.js';

// A network coordinator (SLZB-06, a stick behind ser2net) on a real TCP socket on 127.0.0.1 that goes away
// and comes back. The Controller and converters are the real zigbee-herdsman ones; below herdsman's Adapter
// seam the fake coordinator keeps a real TCP connection to the "box" and, when it closes, does what
// herdsman's driver for that coordinator type does (test/fakes/zigbee/fake-coordinator.ts). The last test
// runs herdsman's real deCONZ driver against the socket.

let seam: ReturnType<typeof installFakeAir> | undefined;
let air: FakeAir;
let ctx: RecordingContext | undefined;
let adapter: Adapter | undefined;
let box: CoordinatorBox | undefined;

afterEach(async () => {
  await adapter?.stop();
  seam?.restore();
  await ctx?.dispose();
  await box?.powerOff();
  adapter = undefined;
  seam = undefined;
  ctx = undefined;
  box = undefined;
});

async function startOverTcp(coordinator: string): Promise<{ ctx: RecordingContext; adapter: Adapter }> {
  box = new CoordinatorBox();
  await box.powerOn();
  seam = installFakeAir();
  air = seam.air;
  ctx = await RecordingContext.create();
  adapter = zigbeeDefinition.create({
    coordinator,
    serialPort: box.url,
    reopen: { initialMs: 50, maxMs: 500 },
  });
  await adapter.start(ctx);
  await eventually(() => ctx!.state === 'running', 'the coordinator to open');
  return { ctx, adapter };
}

const lastDetail = (c: RecordingContext): string | undefined => c.statuses.at(-1)?.detail;

describe('a network coordinator that vanishes', () => {
  it('deCONZ: goes degraded with the reason and back to running when the driver reconnects', async () => {
    const { ctx, adapter } = await startOverTcp('deconz');
    const outlet = ikeaOutlet();
    air.coordinator.join(outlet);
    const id = `zigbee:${outlet.ieeeAddr}`;
    await eventually(() => ctx.devices.get(id)?.model !== undefined, 'the outlet to be identified');
    expect(adapter.isReachable(id)).toBe(true);

    await box!.powerOff();
    await eventually(() => ctx.state === 'degraded', 'the adapter to report degraded');
    expect(lastDetail(ctx)).toContain(`Zigbee coordinator disconnected: the connection to ${box!.url}`);
    expect(adapter.isReachable(id)).toBe(false);
    await expect(adapter.permitJoin!(60)).rejects.toMatchObject({ code: 'FG_ADAPTER_UNAVAILABLE' });

    const awakenedBefore = ctx.awakened.length;
    await box!.powerOn();
    await eventually(() => ctx.state === 'running', 'the adapter to recover', 30_000);
    // Commands held meanwhile are released: the outlet is reachable again.
    expect(ctx.awakened.slice(awakenedBefore)).toContain(id);
    // The driver reconnected under the same controller: the device is still known and reachable.
    expect(air.coordinators).toHaveLength(1);
    expect(adapter.isReachable(id)).toBe(true);
    expect(
      (
        await adapter.execute(
          { id: 'after', device: id, name: 'on', args: {}, origin: 'local' },
          new AbortController().signal,
        )
      ).status,
    ).toBe('ok');
  });

  it('EmberZNet: goes degraded with the reason, reopens with backoff and runs again', async () => {
    const { ctx } = await startOverTcp('ember');

    await box!.powerOff();
    await eventually(() => ctx.state === 'degraded', 'the adapter to report degraded');
    // While the box is off, every reopen fails and says why.
    await eventually(
      () => lastDetail(ctx)?.includes('cannot be opened') === true && air.coordinators.length >= 3,
      'reopen attempts to fail',
    );
    expect(lastDetail(ctx)).toContain('ECONNREFUSED');

    await box!.powerOn();
    await eventually(() => ctx.state === 'running', 'the adapter to recover', 30_000);
  });
});

/** herdsman's deCONZ `Driver` class (CommonJS `exports.default`, one level deeper under Node's interop). */
const quiet = { debug: () => {}, info: () => {}, warning: () => {}, error: () => {} };

type DeconzDriverClass = typeof deconzDriverModule.default.default;
const loaded = deconzDriverModule.default as unknown as DeconzDriverClass | { default: DeconzDriverClass };
const DeconzDriver = typeof loaded === 'function' ? loaded : loaded.default;

describe("herdsman's deCONZ driver on a TCP socket that closes", () => {
  it('reconnects instead of ending the process', async () => {
    setLogger(quiet);
    await guardDeconzSocketClose(silentLogger());
    box = new CoordinatorBox();
    await box.powerOn();
    const driver = new DeconzDriver(
      { path: box.url, baudRate: 115200 },
      { panID: 0x1a62, channelList: [11] },
      undefined,
      [],
    );
    const internals = driver as unknown as { tickTimer: NodeJS.Timeout };
    try {
      let closes = 0;
      driver.on('close', () => (closes += 1));
      await eventually(() => box!.connections === 1, 'the driver to connect');

      box.dropConnections();
      await eventually(() => closes > 0, 'the driver to see the connection close');
      await eventually(() => box!.connections === 2, 'the driver to connect again', 30_000);
    } finally {
      clearInterval(internals.tickTimer);
      await driver.close().catch(() => undefined);
    }
  });

  it('stays closed once retired, while a driver only closed reopens the port', async () => {
    setLogger(quiet);
    await guardDeconzSocketClose(silentLogger()); // as the adapter runs it
    box = new CoordinatorBox();
    await box.powerOn();
    const controlBox = new CoordinatorBox();
    await controlBox.powerOn();
    const driverFor = (port: CoordinatorBox): InstanceType<DeconzDriverClass> =>
      new DeconzDriver(
        { path: port.url, baudRate: 115200 },
        { panID: 0x1a62, channelList: [11] },
        undefined,
        [],
      );
    const retired = driverFor(box);
    const closed = driverFor(controlBox);
    try {
      await eventually(
        () => box!.connections === 1 && controlBox.connections === 1,
        'the drivers to connect',
      );
      // What the adapter does with the controller of a failed or lost deCONZ coordinator…
      await retireDeconzDriver({ adapter: { driver: retired } } as unknown as Controller);
      // …and what herdsman's Controller.stop() alone does: the driver reopens the port 5 s later. Closed
      // second, so that the retired driver, were it to reopen, would do so before this one.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await closed.close();
      await eventually(() => controlBox.connections === 2, 'the closed driver to reopen its port', 30_000);
      expect(box.connections).toBe(1);
    } finally {
      for (const driver of [retired, closed]) {
        clearInterval((driver as unknown as { tickTimer: NodeJS.Timeout }).tickTimer);
        await driver.close().catch(() => undefined);
      }
      await controlBox.powerOff();
    }
  });
});
