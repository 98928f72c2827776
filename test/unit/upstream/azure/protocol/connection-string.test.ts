import { describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../../../src/errors.js';
import { parseConnectionString } from '../../../../../src/upstream/azure/protocol/connection-string.js';

// The device connection string forms the Azure portal and CLI show (docs/clouds/azure-iot-hub.md#endpoints).
describe('Azure connection strings', () => {
  it('reads a device connection string, keeping the `=` of a base64 key', () => {
    expect(
      parseConnectionString(
        'HostName=myhub.azure-devices.net;DeviceId=device1;SharedAccessKey=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
      ),
    ).toEqual({
      hostName: 'myhub.azure-devices.net',
      deviceId: 'device1',
      sharedAccessKey: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
      isX509: false,
    });
  });

  it('reads an X.509 device, a hub policy and a gateway (IoT Edge) host', () => {
    expect(parseConnectionString('HostName=myhub.azure-devices.net;DeviceId=device1;x509=true')).toEqual({
      hostName: 'myhub.azure-devices.net',
      deviceId: 'device1',
      isX509: true,
    });
    expect(
      parseConnectionString(
        'HostName=myhub.azure-devices.net;SharedAccessKeyName=device;SharedAccessKey=a2V5;GatewayHostName=edge.local',
      ),
    ).toEqual({
      hostName: 'myhub.azure-devices.net',
      sharedAccessKeyName: 'device',
      sharedAccessKey: 'a2V5',
      gatewayHostName: 'edge.local',
      isX509: false,
    });
  });

  it('reads a module connection string (ModuleId=), as the portal shows it for a module identity', () => {
    expect(
      parseConnectionString(
        'HostName=myhub.azure-devices.net;DeviceId=device1;ModuleId=module1;SharedAccessKey=a2V5',
      ),
    ).toEqual({
      hostName: 'myhub.azure-devices.net',
      deviceId: 'device1',
      moduleId: 'module1',
      sharedAccessKey: 'a2V5',
      isX509: false,
    });
  });

  it('refuses a string without HostName with FG_CONFIG_INVALID, never echoing the key', () => {
    let error: unknown;
    try {
      parseConnectionString('DeviceId=device1;SharedAccessKey=c2VjcmV0');
    } catch (e) {
      error = e;
    }
    expect(isFieldgateError(error, 'FG_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).not.toContain('c2VjcmV0');
  });
});
