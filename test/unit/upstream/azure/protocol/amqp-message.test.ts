import rhea from 'rhea';
import { describe, expect, it } from 'vitest';
import {
  decode,
  decodeBatch,
  encodeBatch,
  fromPropertyBag,
  toPropertyBag,
} from '../../../../../src/upstream/azure/protocol/amqp-message.js';
import { groupIntoBatches, type D2cMessage } from '../../../../../src/upstream/azure/encode.js';

describe('AMQP message mapping', () => {
  it('encodes the reference’s inner message byte for byte', () => {
    // docs/clouds/azure-iot-hub.md#amqp-batches: message_id 'm-1', content type json, utf-8, app prop unit=C,
    // body {"t":21.5}.
    const message = fromPropertyBag(
      { '$.mid': 'm-1', '$.ct': 'application/json', '$.ce': 'utf-8', unit: 'C' },
      Buffer.from('{"t":21.5}'),
    );
    expect(rhea.message.encode(message).toString('hex')).toBe(
      '00537045005373d00000002700000008a1036d2d314040404040a3106170706c69636174696f6e2f6a736f6ea3057574662d38005374d10000000d00000002a104756e6974a10143005375a00a7b2274223a32312e357d',
    );
  });

  it('round-trips system and application properties through a batch transfer', () => {
    const expiry = '2030-01-01T00:00:00.000Z';
    const first = {
      '$.mid': 'm-1',
      '$.ct': 'application/json',
      '$.exp': expiry,
      '$.ctime': expiry,
      a: 'b c',
    };
    const second = { '$.mid': 'm-2', 'fieldgate-type': 'telemetry' };
    const inner = decodeBatch(
      encodeBatch([fromPropertyBag(first, Buffer.from('one')), fromPropertyBag(second, Buffer.from('two'))]),
    ).map(toPropertyBag);
    expect(inner).toEqual([
      { properties: first, body: Buffer.from('one') },
      { properties: second, body: Buffer.from('two') },
    ]);
    expect(decodeBatch(encodeBatch([fromPropertyBag(second, Buffer.from('x'))]))).toHaveLength(1);
  });

  it('reads a uuid message id as its text form, as the hub does', () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const message = decode(
      rhea.message.encode({ message_id: rhea.string_to_uuid(id), body: Buffer.from('') }),
    );
    expect(toPropertyBag(message).properties['$.mid']).toBe(id);
  });

  it('groups messages into batches under the batch limit, in order', () => {
    const message = (n: number, sizeBytes: number): D2cMessage => ({
      items: [],
      body: Buffer.alloc(0),
      properties: { '$.mid': String(n) },
      sizeBytes,
      billedUnits: 1,
    });
    const transfers = groupIntoBatches(
      [message(1, 600), message(2, 300), message(3, 300), message(4, 2000)],
      1000,
    );
    expect(transfers.map((t) => t.map((m) => m.properties['$.mid']))).toEqual([['1', '2'], ['3'], ['4']]);
  });
});
