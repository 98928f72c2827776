import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeAdvertisement, type AdvertPayload } from '../../../../../adapters/ble/decoders/index.js';

interface Vector {
  name: string;
  address?: string;
  bindkey?: string;
  serviceData?: Record<string, string>;
  manufacturerData?: string;
}
interface Decodes extends Vector {
  format: string;
  counter?: number;
  firmware?: string;
  values: Record<string, unknown>;
  units?: Record<string, string>;
}
interface Drops extends Vector {
  format: string;
  reason: string;
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../../fixtures/ble/advertisement-vectors.json', import.meta.url), 'utf8'),
) as { decodes: Decodes[]; drops: Drops[]; ignored: Vector[] };

function decode(vector: Vector) {
  const payload: AdvertPayload = {
    address: vector.address ?? 'a4:c1:38:01:02:03',
    serviceData: Object.entries(vector.serviceData ?? {}).map(([uuid, hex]) => ({
      uuid,
      data: Buffer.from(hex, 'hex'),
    })),
    manufacturerData:
      vector.manufacturerData === undefined ? undefined : Buffer.from(vector.manufacturerData, 'hex'),
  };
  const key = vector.bindkey === undefined ? undefined : Buffer.from(vector.bindkey, 'hex');
  return decodeAdvertisement(payload, () => key);
}

describe('decodeAdvertisement', () => {
  it.each(vectors.decodes)('decodes $name', (vector) => {
    const result = decode(vector);
    expect(result).toMatchObject({ ok: true });
    const advert = result?.ok === true ? result.advert : undefined;
    expect(advert?.format).toBe(vector.format);
    expect(advert?.values).toEqual(vector.values);
    expect(advert?.counter).toBe(vector.counter);
    expect(advert?.firmware).toBe(vector.firmware);
    if (vector.units !== undefined) expect(advert?.units).toEqual(vector.units);
  });

  it.each(vectors.drops)('drops $name as $reason', (vector) => {
    expect(decode(vector)).toEqual({ ok: false, format: vector.format, reason: vector.reason });
  });

  it.each(vectors.ignored)('ignores $name (no sensor format)', (vector) => {
    expect(decode(vector)).toBeUndefined();
  });
});
