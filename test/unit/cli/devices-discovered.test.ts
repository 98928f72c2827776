import { describe, expect, it } from 'vitest';
import { renderDiscovered } from '../../../src/cli/devices.js';

describe('fieldgate devices --discovered', () => {
  it('shows each device heard with its family (or unknown), RSSI and whether it is forwarded', () => {
    const now = 1_000_000;
    const base = { adapter: 'ble', capabilities: { values: [], commands: [] }, power: 'battery' as const };
    const text = renderDiscovered(
      [
        {
          ...base,
          id: 'ble:e0:12:1d:61:bb:aa',
          model: 'H5074',
          family: 'govee',
          rssi: -67,
          isForwarded: false,
          availability: 'online',
          lastSeen: now - 3000,
        },
        {
          ...base,
          id: 'ble:de:ad:be:ef:00:02',
          name: 'phone',
          family: 'unknown',
          rssi: -90,
          isForwarded: true,
          availability: 'online',
          lastSeen: now - 1000,
        },
      ],
      now,
    );
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/ID\s+FAMILY\s+MODEL\s+RSSI\s+FORWARDED\s+NAME\s+LAST SEEN/);
    expect(lines.find((l) => l.includes('e0:12:1d:61:bb:aa'))).toMatch(
      /govee\s+H5074\s+-67 dBm\s+no\s+3s ago/,
    );
    expect(lines.find((l) => l.includes('de:ad:be:ef:00:02'))).toMatch(/unknown\s+-90 dBm\s+yes\s+phone/);
  });
});
