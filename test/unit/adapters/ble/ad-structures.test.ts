import { describe, expect, it } from 'vitest';
import { manufacturerDataBlocks } from '../../../../adapters/ble/ad-structures.js';
import { decodeAdvertisement } from '../../../../adapters/ble/decoders/index.js';

// Govee H5075 manufacturer data from ble_monitor's test_Govee_H5075 (20.5 °C, 14.9 %, battery 100 %).
const GOVEE = '88ec0003215d6400';
const IBEACON = `4c000215${'ab'.repeat(16)}000100020bc5`;
const ad = (...structures: [number, string][]) =>
  Buffer.concat(
    structures.map(([type, hex]) => Buffer.from([hex.length / 2 + 1, type, ...Buffer.from(hex, 'hex')])),
  );

describe('manufacturerDataBlocks', () => {
  it('lists every manufacturer-data structure in order, and stops at one that runs past the end', () => {
    const data = ad([0x01, '05'], [0xff, GOVEE], [0x09, '483530'], [0xff, IBEACON]);
    expect(manufacturerDataBlocks(data).map((b) => b.toString('hex'))).toEqual([GOVEE, IBEACON]);
    expect(
      manufacturerDataBlocks(Buffer.concat([ad([0xff, GOVEE]), Buffer.from([0x09, 0xff, 0x01])])),
    ).toHaveLength(1);
    expect(manufacturerDataBlocks(Buffer.alloc(0))).toEqual([]);
  });

  it('lets the decoder find the sensor among them, whichever comes last', () => {
    const blocks = manufacturerDataBlocks(ad([0xff, GOVEE], [0xff, IBEACON]));
    const decoded = decodeAdvertisement({
      address: 'a4:c1:38:61:bb:aa',
      localName: 'GVH5075_CB9B',
      serviceData: [],
      manufacturerData: blocks.at(-1),
      manufacturerDataBlocks: blocks,
    });
    expect(decoded).toMatchObject({ ok: true, advert: { format: 'govee', model: 'H5075' } });
    expect(decoded?.ok === true && decoded.advert.values).toMatchObject({
      temperature: 20.5,
      humidity: 14.9,
    });
  });
});
