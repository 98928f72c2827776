import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type MqttClient } from 'mqtt';
import { gatewayThingPolicy, leafShadowStatements } from '../../../../emulators/aws/index.js';
import { startTestCloud, type TestCloud } from '../../../fakes/aws-cloud.js';
import { waitFor } from '../../../fakes/wait-for.js';

const NAMED = '$aws/things/gw-1/shadow/name/sim_switch-01';

describe('the emulator Device Shadow service', () => {
  let cloud: TestCloud;
  let client: MqttClient;
  let received: { topic: string; body: Record<string, unknown> }[];

  const on = (topic: string) => received.filter((m) => m.topic === topic).map((m) => m.body);
  const request = async (topic: string, body: unknown): Promise<void> => {
    await client.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });
  };

  beforeEach(async () => {
    cloud = await startTestCloud();
    // The gateway policy plus the classic shadows of leaf things named `sim:*`.
    const device = await cloud.emulator.mintDevice('gw-1', {
      Statement: [...gatewayThingPolicy('gw-1').Statement, ...leafShadowStatements(['sim:*'])],
    });
    client = connect({
      host: '127.0.0.1',
      port: cloud.emulator.mqttPort,
      servername: 'localhost',
      cert: device.certPem,
      key: device.keyPem,
      ca: cloud.emulator.ca.certPem,
      protocol: 'mqtts',
      clientId: 'gw-1',
      reconnectPeriod: 0,
    });
    client.on('error', () => undefined);
    received = [];
    client.on('message', (topic, payload) =>
      received.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> }),
    );
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync(
      [
        'update/accepted',
        'update/rejected',
        'update/delta',
        'update/documents',
        'get/accepted',
        'get/rejected',
        'delete/accepted',
      ].flatMap((s) => [`$aws/things/gw-1/shadow/${s}`, `$aws/things/gw-1/shadow/name/+/${s}`]),
      { qos: 1 },
    );
  });
  afterEach(async () => {
    client.end(true);
    await cloud.close();
  });

  it('answers update, delta, documents and get for a named shadow, echoing the client token', async () => {
    await request(`${NAMED}/update`, {
      state: { reported: { state: false, power: 0.3 } },
      clientToken: 'r1',
    });
    await waitFor(() => on(`${NAMED}/update/accepted`).length === 1, 'update accepted');
    expect(on(`${NAMED}/update/accepted`)[0]).toMatchObject({
      state: { reported: { state: false, power: 0.3 } },
      version: 1,
      clientToken: 'r1',
      metadata: { reported: { state: { timestamp: expect.any(Number) as number } } },
    });
    expect(on(`${NAMED}/update/delta`)).toEqual([]);

    // The cloud side sets desired: the device hears a delta with only the differing field.
    cloud.emulator.shadows.update('gw-1', 'sim_switch-01', {
      state: { desired: { state: true, power: 0.3 } },
    });
    await waitFor(() => on(`${NAMED}/update/delta`).length === 1, 'delta');
    expect(on(`${NAMED}/update/delta`)[0]).toMatchObject({ version: 2, state: { state: true } });
    expect(on(`${NAMED}/update/documents`)[1]).toMatchObject({
      previous: { version: 1, state: { reported: { state: false } } },
      current: { version: 2, state: { desired: { state: true }, reported: { state: false } } },
    });

    await request(`${NAMED}/get`, { clientToken: 'g1' });
    await waitFor(() => on(`${NAMED}/get/accepted`).length === 1, 'get accepted');
    expect(on(`${NAMED}/get/accepted`)[0]).toMatchObject({
      state: { desired: { state: true }, reported: { state: false }, delta: { state: true } },
      version: 2,
      clientToken: 'g1',
    });

    // Reporting the desired value clears the delta: no further delta message, and GET has no delta.
    await request(`${NAMED}/update`, { state: { reported: { state: true } }, version: 2 });
    await waitFor(() => on(`${NAMED}/update/accepted`).length === 3, 'second device update');
    expect(on(`${NAMED}/update/delta`)).toHaveLength(1);
    expect(cloud.emulator.shadows.document('gw-1', 'sim_switch-01')).not.toHaveProperty('state.delta');
  });

  it('rejects a shadow name over 64 bytes or with other characters than letters, digits, :, _ and - with 400', async () => {
    const named = (name: string) => `$aws/things/gw-1/shadow/name/${name}`;
    const longest = 'a'.repeat(64);
    const names = { tooLong: 'a'.repeat(65), dot: 'sim.switch', space: 'sim switch', longest, ok: 'x:Y_z-9' };
    for (const [token, name] of Object.entries(names)) {
      await request(`${named(name)}/update`, { state: { reported: { on: true } }, clientToken: token });
    }
    await waitFor(
      () => received.filter((m) => /\/update\/(accepted|rejected)$/.test(m.topic)).length === 5,
      'an answer to every update',
    );
    for (const token of ['tooLong', 'dot', 'space']) {
      const name = names[token as keyof typeof names];
      expect(on(`${named(name)}/update/rejected`)).toMatchObject([{ code: 400, clientToken: token }]);
      expect(cloud.emulator.shadows.document('gw-1', name)).toBeUndefined();
    }
    expect(on(`${named(longest)}/update/accepted`)).toMatchObject([{ clientToken: 'longest' }]);
    expect(on(`${named('x:Y_z-9')}/update/accepted`)).toMatchObject([{ clientToken: 'ok' }]);
    // The cloud side (UpdateThingShadow) gets the same answer.
    expect(
      cloud.emulator.shadows.update('gw-1', 'sim.switch', { state: { desired: { on: true } } }),
    ).toMatchObject({ error: { code: 400 } });
  });

  it('rejects a version conflict with 409, a missing shadow with 404, and bad JSON with 400', async () => {
    await request(`${NAMED}/update`, { state: { reported: { a: 1 } } });
    await request(`${NAMED}/update`, { state: { reported: { a: 2 } }, version: 7, clientToken: 'stale' });
    await request('$aws/things/gw-1/shadow/get', '');
    await request('$aws/things/gw-1/shadow/update', '{nope');
    await waitFor(
      () => received.filter((m) => m.topic.endsWith('rejected')).length === 3,
      'three rejections',
    );
    expect(on(`${NAMED}/update/rejected`)).toMatchObject([
      { code: 409, message: 'Version conflict', clientToken: 'stale' },
    ]);
    expect(on('$aws/things/gw-1/shadow/get/rejected')).toMatchObject([
      { code: 404, message: "No shadow exists with name: 'gw-1'" },
    ]);
    expect(on('$aws/things/gw-1/shadow/update/rejected')).toMatchObject([
      { code: 400, message: 'Invalid JSON' },
    ]);
  });

  it('keeps the version across a delete', async () => {
    await request('$aws/things/gw-1/shadow/update', { state: { reported: { a: 1 } } });
    await request('$aws/things/gw-1/shadow/delete', '');
    await request('$aws/things/gw-1/shadow/update', { state: { reported: { b: 1 } } });
    await waitFor(() => on('$aws/things/gw-1/shadow/update/accepted').length === 2, 'two updates');
    expect(on('$aws/things/gw-1/shadow/delete/accepted')).toMatchObject([{ version: 1 }]);
    expect(on('$aws/things/gw-1/shadow/update/accepted')[1]).toMatchObject({ version: 2 });
    expect(cloud.emulator.shadows.document('gw-1')).toMatchObject({ state: { reported: { b: 1 } } });
  });

  it('answers 429 beyond 20 requests per second on one thing, and meters shadow operations besides messages', async () => {
    const before = cloud.emulator.meter.read().messagingUnitsBy;
    // Three bursts of ten, each answered before the next: the in-flight limit (10) is never passed.
    for (let burst = 0; burst < 3; burst++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          request(`${NAMED}/update`, { state: { reported: { n: burst * 10 + i } } }),
        ),
      );
      const served = (burst + 1) * 10;
      await waitFor(() => cloud.emulator.shadows.requests().length === served, `${served} served`);
    }
    const codes = cloud.emulator.shadows.requests().map((r) => r.code);
    // The window may roll over mid-burst on a slow machine, so only the lower bound is certain.
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
    expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(20);
    await waitFor(() => on(`${NAMED}/update/rejected`).length > 0, 'a 429 on /rejected');
    expect(on(`${NAMED}/update/rejected`)[0]).toMatchObject({ code: 429 });
    const meter = cloud.emulator.meter.read();
    expect(meter.shadowOperations).toBe(codes.filter((c) => c === 200).length);
    // IoT Core bills the requests and their answers as messages too, one 5 KB unit each here.
    expect(meter.messagingUnitsBy.publishIn - before.publishIn).toBe(30);
    expect(meter.messagingUnitsBy.publishOut).toBeGreaterThan(before.publishOut);
  });

  it('answers 429 to the eleventh unanswered request on a connection, and serves the ten', async () => {
    const release = cloud.emulator.shadows.hold();
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => request(`${NAMED}/get`, { clientToken: `g${i}` })),
    );
    await waitFor(() => on(`${NAMED}/get/rejected`).length === 2, 'two refusals while held');
    expect(on(`${NAMED}/get/rejected`).map((b) => [b.code, b.clientToken])).toEqual([
      [429, 'g10'],
      [429, 'g11'],
    ]);
    release();
    // The shadow does not exist yet, so the ten held GETs are answered 404, none of them 429.
    await waitFor(() => on(`${NAMED}/get/rejected`).length === 12, 'the held requests answered');
    expect(
      on(`${NAMED}/get/rejected`)
        .slice(2)
        .map((b) => b.code),
    ).toEqual(Array(10).fill(404));
  });

  it('answers 404 Thing not found for a thing that is not registered, until it is', async () => {
    const classic = '$aws/things/sim:plug-7/shadow';
    // The policy lets gw-1 use the leaf's shadow topics; whether the thing exists is a separate check.
    await client.subscribeAsync(`$aws/things/+/shadow/update/rejected`, { qos: 1 });
    await request(`${classic}/update`, { state: { reported: { on: true } }, clientToken: 'u1' });
    await waitFor(() => on(`${classic}/update/rejected`).length === 1, 'the refusal');
    expect(on(`${classic}/update/rejected`)[0]).toMatchObject({
      code: 404,
      message: 'Thing not found',
      clientToken: 'u1',
    });
    expect(
      cloud.emulator.shadows.update('sim:plug-7', undefined, { state: { desired: { on: true } } }),
    ).toMatchObject({ error: { code: 404 } });
    cloud.emulator.registry.putThing('sim:plug-7');
    expect(
      cloud.emulator.shadows.update('sim:plug-7', undefined, { state: { desired: { on: true } } }),
    ).toMatchObject({ body: { version: 1 } });
  });
});
