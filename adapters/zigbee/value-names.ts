/**
 * The gateway's value names for what zigbee-herdsman-converters publish: lowerCamel, unit-free
 * (docs/architecture.md#vocabulary). `color_temp` → `colorTemp`, `state_l1` → `stateL1`, `linkquality` →
 * `linkQuality`.
 */

/** Names the converters spell as one word although they are two. */
const RENAMES: Readonly<Record<string, string>> = {
  linkquality: 'linkQuality',
};

export function toValueName(property: string): string {
  const renamed = RENAMES[property];
  if (renamed !== undefined) return renamed;
  return property.replaceAll(/[_\s-]+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Units for values whose definition does not expose one (generic definitions, converter extras). The
 * definition's own `exposes` unit always wins over this table.
 */
export const FALLBACK_UNITS: Readonly<Record<string, string>> = {
  temperature: '°C',
  localTemperature: '°C',
  humidity: '%',
  pressure: 'hPa',
  battery: '%',
  power: 'W',
  energy: 'kWh',
  current: 'A',
  illuminance: 'lx',
  linkQuality: 'lqi',
};
