import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { d2cContent, summarizeD2c, type D2cRecord } from '../../../../emulators/azure/index.js';

const batch = { gateway: 'gw', readings: [{ gseq: 1, device: 'sim:a', ts: 5, values: { t: 21.5 } }] };
const record = (body: Buffer, ce?: string): D2cRecord => ({
  deviceId: 'gw',
  body,
  properties: { '$.mid': 'gw-cloud-1', ...(ce === undefined ? {} : { '$.ce': ce }) },
  systemProperties: {},
  sizeBytes: body.length,
});

describe('D2C records as a consumer reads them', () => {
  it('inflates a body whose content encoding is gzip, and leaves others as they are', () => {
    const json = Buffer.from(JSON.stringify(batch));
    expect(d2cContent(record(gzipSync(json), 'gzip'))).toEqual(json);
    expect(d2cContent(record(gzipSync(json), 'GZIP'))).toEqual(json);
    expect(d2cContent(record(json, 'utf-8'))).toEqual(json);
    expect(d2cContent(record(json))).toEqual(json);
  });

  it('summarizes a gzipped batch with its decoded readings, and anything else by size only', () => {
    const gzipped = gzipSync(JSON.stringify(batch));
    expect(summarizeD2c(record(gzipped, 'gzip'))).toEqual({
      deviceId: 'gw',
      messageId: 'gw-cloud-1',
      contentEncoding: 'gzip',
      sizeBytes: gzipped.length,
      readings: batch.readings,
    });
    expect(summarizeD2c(record(Buffer.from('not json'), 'utf-8')).readings).toBeUndefined();
    // Claims gzip but is not: still summarized, never thrown at the hub's front end.
    expect(summarizeD2c(record(Buffer.from('{}'), 'gzip')).readings).toBeUndefined();
  });
});
