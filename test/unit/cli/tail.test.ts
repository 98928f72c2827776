import { describe, expect, it } from 'vitest';
import { renderReading } from '../../../src/cli/tail.js';

describe('fieldgate tail', () => {
  it('shows the device name beside the id when the device has one', () => {
    const ts = Date.UTC(2026, 0, 1, 12, 0, 1, 250);
    const values = { temperature: 21.4 };
    const units = { temperature: '°C' };
    expect(renderReading({ device: 'sim:climate-01', ts, values, units })).toBe(
      '12:00:01.250  sim:climate-01  temperature=21.4°C',
    );
    expect(renderReading({ device: 'sim:climate-01', name: 'living room', ts, values, units })).toBe(
      '12:00:01.250  sim:climate-01 (living room)  temperature=21.4°C',
    );
  });
});
