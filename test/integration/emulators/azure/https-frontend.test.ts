import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureHubEmulator } from '../../../../emulators/azure/index.js';
import { HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { createSasToken } from '../../../../src/upstream/azure/protocol/sas.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');
const token = createSasToken({
  resourceUri: `${HOST}/devices/dev-1`,
  keyBase64: KEY,
  expiresAtS: Math.floor(Date.now() / 1000) + 600,
});

describe('the emulator’s HTTPS device API', () => {
  let hub: AzureHubEmulator;
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${hub.httpsUrl}/devices/dev-1/messages/${path}?api-version=2021-04-12`, {
      ...init,
      headers: { authorization: token, ...(init.headers as Record<string, string>) },
    });

  beforeEach(async () => {
    const registry = new HubRegistry({ hostName: HOST, devices: { 'dev-1': { primaryKey: KEY } } });
    // Plain HTTP on loopback: the routes and checks are the same as over TLS.
    hub = await AzureHubEmulator.start({
      registry,
      host: '127.0.0.1',
      port: 0,
      httpsPort: 0,
      log: silentLogger(),
    });
  });
  afterEach(() => hub.close());

  it('records a single event with its iothub-* headers as properties, stamped with the identity', async () => {
    const reply = await call('events', {
      method: 'POST',
      body: '{"t":21.5}',
      headers: {
        'iothub-messageid': 'msg-1',
        'iothub-app-alert': 'high',
        'iothub-contenttype': 'application/json',
      },
    });
    expect(reply.status).toBe(204);
    expect(hub.d2c).toMatchObject([
      {
        deviceId: 'dev-1',
        properties: { '$.mid': 'msg-1', '$.ct': 'application/json', alert: 'high' },
        systemProperties: { 'iothub-connection-device-id': 'dev-1' },
      },
    ]);
  });

  it('refuses a request without a valid token (401) and a message over 256 KB (413)', async () => {
    const anonymous = await fetch(`${hub.httpsUrl}/devices/dev-1/messages/events`, {
      method: 'POST',
      body: 'x',
    });
    expect(anonymous.status).toBe(401);
    const big = await call('events', { method: 'POST', body: 'x'.repeat(256 * 1024 + 1) });
    expect(big.status).toBe(413);
    expect(hub.d2c).toEqual([]);
  });

  it('answers 204 on an empty C2D queue, locks a message by ETag, and 412 on a stale lock', async () => {
    expect((await call('devicebound')).status).toBe(204);
    hub.sendC2d('dev-1', { messageId: 'c-1', body: 'on', ack: 'full', properties: { cmd: 'on' } });
    const received = await call('devicebound');
    expect(received.status).toBe(200);
    expect(await received.text()).toBe('on');
    expect(received.headers.get('iothub-messageid')).toBe('c-1');
    expect(received.headers.get('iothub-app-cmd')).toBe('on');
    const lock = received.headers.get('etag')!.replace(/"/g, '');
    // Locked: a second receive does not see it.
    expect((await call('devicebound')).status).toBe(204);
    expect(
      (await call(`devicebound/${lock}`, { method: 'DELETE', headers: { 'if-match': `"${lock}"` } })).status,
    ).toBe(204);
    expect((await call(`devicebound/${lock}`, { method: 'DELETE' })).status).toBe(412);
    expect(hub.feedback()).toMatchObject([{ originalMessageId: 'c-1', statusCode: 'Success' }]);
  });

  it('rejects with ?reject and counts an abandon as a delivery', async () => {
    hub.sendC2d('dev-1', { messageId: 'c-1', body: 'a', ack: 'full' });
    const first = (await call('devicebound')).headers.get('etag')!.replace(/"/g, '');
    expect((await call(`devicebound/${first}/abandon`, { method: 'POST' })).status).toBe(204);
    const again = await call('devicebound');
    expect(again.headers.get('iothub-deliverycount')).toBe('1');
    const second = again.headers.get('etag')!.replace(/"/g, '');
    const rejected = await fetch(
      `${hub.httpsUrl}/devices/dev-1/messages/devicebound/${second}?api-version=2021-04-12&reject`,
      { method: 'DELETE', headers: { authorization: token } },
    );
    expect(rejected.status).toBe(204);
    expect(hub.feedback()).toMatchObject([{ originalMessageId: 'c-1', statusCode: 'Rejected' }]);
  });
});
