import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mapEvent, type ZwaveEvent } from '../../../../adapters/zwave/event-mapping.js';
import type { Value } from '../../../../src/model.js';

interface Case {
  why: string;
  in: ZwaveEvent;
  out: Record<string, Value>;
}

const cases = JSON.parse(
  readFileSync(new URL('../../../fixtures/zwave/event-cases.json', import.meta.url), 'utf8'),
) as Case[];

describe('mapEvent', () => {
  it.each(cases)('$why', (c) => {
    expect(mapEvent(c.in)).toEqual(c.out);
  });

  it('shows raw bytes as hex', () => {
    const bytes = Uint8Array.from([0xde, 0xad]);
    expect(
      mapEvent({
        commandClass: 0x71,
        endpoint: 0,
        label: 'System',
        eventLabel: 'Heartbeat',
        parameters: bytes,
      }),
    ).toMatchObject({ eventParameters: 'dead' });
    expect(
      mapEvent({
        commandClass: 0x6f,
        endpoint: 0,
        eventTypeLabel: 'RFID',
        dataTypeLabel: 'Raw',
        eventData: bytes,
      }),
    ).toEqual({ action: 'rfid', entryData: 'dead', entryDataType: 'raw' });
  });
});
