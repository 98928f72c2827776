import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AzureHubEmulator, HubRegistry } from '../../../../emulators/azure/index.js';
import { silentLogger } from '../../../../src/logger.js';
import { BATCH_CONTENT_TYPE, encodeBatchBody } from '../../../../src/upstream/azure/protocol/http-message.js';
import { createSasToken } from '../../../../src/upstream/azure/protocol/sas.js';

const HOST = 'test-hub.azure-devices.net';
const KEY = Buffer.from('device-key-for-tests-only-000001').toString('base64');

describe('the emulator’s HTTPS batch endpoint counts the request body, as the hub does', () => {
  let hub: AzureHubEmulator;
  beforeEach(async () => {
    hub = await AzureHubEmulator.start({
      registry: new HubRegistry({ hostName: HOST, devices: { 'dev-1': { primaryKey: KEY } } }),
      host: '127.0.0.1',
      port: 0,
      httpsPort: 0,
      log: silentLogger(),
    });
  });
  afterEach(() => hub.close());

  const post = (body: Buffer) =>
    fetch(`${hub.httpsUrl}/devices/dev-1/messages/events?api-version=2021-04-12`, {
      method: 'POST',
      body,
      headers: {
        authorization: createSasToken({
          resourceUri: `${HOST}/devices/dev-1`,
          keyBase64: KEY,
          expiresAtS: Math.floor(Date.now() / 1000) + 600,
        }),
        'content-type': BATCH_CONTENT_TYPE,
      },
    });

  it('answers 413 to a batch of 200 KB of messages whose base64 body is 267 KB, and records nothing', async () => {
    const body = encodeBatchBody([{ body: Buffer.alloc(200 * 1024, 0x61), properties: {} }]);
    expect(body.length).toBeGreaterThan(256 * 1024);
    expect((await post(body)).status).toBe(413);
    expect(hub.d2c).toEqual([]);
  });

  it('takes a body of 255 KiB − 1, the device SDKs’ cap', async () => {
    const body = encodeBatchBody([{ body: Buffer.alloc(190 * 1024, 0x61), properties: {} }]);
    expect(body.length).toBeLessThanOrEqual(255 * 1024 - 1);
    expect((await post(body)).status).toBe(204);
    expect(hub.d2c).toHaveLength(1);
  });
});
