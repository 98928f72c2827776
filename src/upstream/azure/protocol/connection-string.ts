import { FieldgateError } from '../../../errors.js';

/** The parts of an IoT Hub device or policy connection string that a device-side client uses. */
export interface ConnectionString {
  hostName: string;
  deviceId?: string;
  /** `ModuleId=`: the identity is this module of the device. */
  moduleId?: string;
  sharedAccessKey?: string;
  sharedAccessKeyName?: string;
  gatewayHostName?: string;
  /** `x509=true`: the device authenticates with its client certificate. */
  isX509: boolean;
}

/**
 * Parse `HostName=…;DeviceId=…[;ModuleId=…];SharedAccessKey=…` (keys case-sensitive as the portal writes them; values may
 * contain `=`, as base64 keys do). The key may be absent: config can supply it apart. Throws `FG_CONFIG_INVALID` without echoing the string: it holds a key.
 */
export function parseConnectionString(text: string): ConnectionString {
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) throw invalid('a part has no `=`');
    fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const hostName = fields.get('HostName');
  if (hostName === undefined || hostName === '') throw invalid('it has no HostName');
  const result: ConnectionString = { hostName, isX509: fields.get('x509')?.toLowerCase() === 'true' };
  for (const [key, name] of [
    ['DeviceId', 'deviceId'],
    ['ModuleId', 'moduleId'],
    ['SharedAccessKey', 'sharedAccessKey'],
    ['SharedAccessKeyName', 'sharedAccessKeyName'],
    ['GatewayHostName', 'gatewayHostName'],
  ] as const) {
    const value = fields.get(key);
    if (value !== undefined && value !== '') result[name] = value;
  }
  return result;
}

function invalid(why: string): FieldgateError {
  return new FieldgateError('FG_CONFIG_INVALID', `The Azure connection string is malformed: ${why}.`);
}
