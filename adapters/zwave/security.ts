import { CC } from './value-mapping.js';
import { SECURITY_CLASS } from './s2-pairing.js';

/**
 * Command classes a device carries out only when it was included with S2 Access Control (or S0 on older
 * devices): locks, garage doors and their user codes ignore the unencrypted frame of an insecure inclusion
 * (docs/radios.md#security-keys).
 */
const ACCESS_CONTROL_CCS: Readonly<Record<number, string>> = {
  [CC.doorLock]: 'Door Lock',
  0x63: 'User Code',
  0x66: 'Barrier Operator',
};

/** What zwave-js knows about one node's security, read after its interview. */
export interface SecurityFacts {
  /** Command classes of the root and every endpoint. */
  commandClasses: ReadonlySet<number>;
  /** zwave-js's highest granted `SecurityClass` (-1 none); undefined while not known yet. */
  highestClass: number | undefined;
  /** Whether S2 Access Control / S0 were granted; undefined while not known yet. */
  hasAccessControl: boolean | undefined;
  hasS0: boolean | undefined;
}

const CLASS_NAMES: Readonly<Record<number, string>> = {
  [SECURITY_CLASS.none]: 'no security',
  [SECURITY_CLASS.s2Unauthenticated]: 'S2 Unauthenticated',
  [SECURITY_CLASS.s2Authenticated]: 'S2 Authenticated',
  [SECURITY_CLASS.s2AccessControl]: 'S2 Access Control',
  [SECURITY_CLASS.s0Legacy]: 'S0',
};

/**
 * Why the device cannot carry out what it is for, or undefined when it can (or its security is not known
 * yet): it has a command class that needs S2 Access Control or S0, and neither was granted. Its commands
 * would leave as frames the device ignores, so they fail with this reason instead.
 */
export function insecureReason(facts: SecurityFacts): string | undefined {
  if (facts.highestClass === undefined) return undefined;
  const needy = Object.entries(ACCESS_CONTROL_CCS)
    .filter(([cc]) => facts.commandClasses.has(Number(cc)))
    .map(([, name]) => name);
  if (needy.length === 0 || facts.hasAccessControl === true || facts.hasS0 === true) return undefined;
  const granted = CLASS_NAMES[facts.highestClass] ?? `security class ${facts.highestClass}`;
  return (
    `insecure: ${needy.join(', ')} needs S2 Access Control (or S0) but the device was included with ${granted}; ` +
    'it ignores such commands. Exclude it and include it again (the S2 Access Control key is set)'
  );
}
