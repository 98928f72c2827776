import { describe, expect, it } from 'vitest';
import { decodeAdvertisement, type AdvertPayload } from '../../../../../adapters/ble/decoders/index.js';
import { parseAdvertisingReport } from '../../../../fakes/ble/hci-packets.js';
import { PUBLISHED_FRAMES, type PublishedFrame } from '../../../../fixtures/ble/published-frames.js';

function payloadOf(frame: PublishedFrame): AdvertPayload {
  if (frame.hci !== undefined) return parseAdvertisingReport(frame.hci);
  return {
    address: frame.address!,
    serviceData: Object.entries(frame.serviceData ?? {}).map(([uuid, hex]) => ({
      uuid,
      data: Buffer.from(hex, 'hex'),
    })),
  };
}

const keyOf = (frame: PublishedFrame) =>
  frame.bindkey === undefined ? undefined : Buffer.from(frame.bindkey, 'hex');

describe('published frames decode to the values their sources give', () => {
  it.each(PUBLISHED_FRAMES)('$name', (frame) => {
    const result = decodeAdvertisement(payloadOf(frame), () => keyOf(frame));
    expect(result).toMatchObject({ ok: true });
    const advert = result?.ok === true ? result.advert : undefined;
    expect(advert?.format).toBe(frame.format);
    expect(advert?.values).toMatchObject(frame.values);
    if (frame.model !== undefined) expect(advert?.model).toBe(frame.model);
    if (frame.counter !== undefined) expect(advert?.counter).toBe(frame.counter);
    // Encrypted frames say so (the gateway refuses plain packets from keyed devices); plain ones do not.
    expect(advert?.encryption !== undefined).toBe(frame.bindkey !== undefined);
  });

  it.each(PUBLISHED_FRAMES.filter((f) => f.bindkey !== undefined))(
    '$name: without its key it is dropped as missingKey, with another key as decryptFailed',
    (frame) => {
      expect(decodeAdvertisement(payloadOf(frame))).toMatchObject({ ok: false, reason: 'missingKey' });
      const wrong = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
      expect(decodeAdvertisement(payloadOf(frame), () => wrong)).toMatchObject({
        ok: false,
        reason: 'decryptFailed',
      });
    },
  );

  it('BTHome v2 with the MAC in the payload: the device is known by that MAC, and the nonce uses it', () => {
    const frame = PUBLISHED_FRAMES.find((f) => f.name.includes('test_bthome_with_mac_encrypted'))!;
    // Heard from a random address: the key is looked up, and the nonce built, by the payload's MAC.
    const asked: string[] = [];
    const result = decodeAdvertisement({ ...payloadOf(frame), address: '7a:11:22:33:44:55' }, (address) => {
      asked.push(address);
      return keyOf(frame);
    });
    expect(asked).toEqual(['54:48:e6:8f:80:a5']);
    expect(result).toMatchObject({
      ok: true,
      advert: { address: '54:48:e6:8f:80:a5', values: { temperature: 25.06, humidity: 50.55 } },
    });
  });
});

describe('BTHome v2 objects the decoder does not know', () => {
  it('end the packet but keep the values before them', () => {
    // Battery 97 %, temperature 25.06 °C, then object 0xEE (not in bthome.io/format), then humidity.
    const result = decodeAdvertisement({
      address: 'a4:c1:38:01:02:03',
      serviceData: [{ uuid: 'fcd2', data: Buffer.from('40016102ca09ee0103bf13', 'hex') }],
    });
    expect(result).toEqual({
      ok: true,
      advert: {
        format: 'bthome',
        values: { battery: 97, temperature: 25.06 },
        units: { battery: '%', temperature: '°C' },
        isPartial: true,
      },
    });
  });

  it('drop the packet when nothing precedes them', () => {
    const result = decodeAdvertisement({
      address: 'a4:c1:38:01:02:03',
      serviceData: [{ uuid: 'fcd2', data: Buffer.from('40ee01', 'hex') }],
    });
    expect(result).toEqual({ ok: false, format: 'bthome', reason: 'unknownObject' });
  });
});
