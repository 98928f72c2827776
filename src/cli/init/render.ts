import { stringify } from 'yaml';
import type { SerialStick, ZigbeeCoordinator } from './radios.js';

/** Where the gateway sends its readings, as `fieldgate init` was told. Secret values travel separately. */
export type CloudAnswers =
  | { kind: 'mqtt'; url: string; username?: string; password?: string }
  | {
      kind: 'azure';
      connectionString?: string;
      hostName?: string;
      deviceId?: string;
      sharedAccessKey?: string;
    }
  | { kind: 'aws'; endpoint: string; certFile: string; keyFile: string; caFile?: string; thingName?: string };

export type RadioAnswer =
  | {
      kind: 'zigbee';
      stick: Pick<SerialStick, 'path' | 'baudRate' | 'rtscts'> & { coordinator: ZigbeeCoordinator };
    }
  | { kind: 'zwave'; serialPort: string }
  | { kind: 'ble'; hciDevice: number };

export interface InitAnswers {
  cloud: CloudAnswers;
  radios: RadioAnswer[];
  gatewayId?: string;
  /** Absent: the default, `/var/lib/fieldgate` (the unit's StateDirectory). */
  stateDir?: string;
  /** The simulated fleet: only when asked for (`--sim`). */
  sim: boolean;
}

/** A secret `init` keeps out of the YAML: written to the credentials directory as `name`, mode 0600. */
export interface Credential {
  name: string;
  value: string;
}

/** The credential names the unit loads (`LoadCredential=` in systemd/fieldgate.service). */
export const CREDENTIAL_NAMES = {
  mqttPassword: 'mqtt-password',
  azureConnectionString: 'azure-connection-string',
  azureSharedAccessKey: 'azure-shared-access-key',
} as const;

/**
 * The minimal config for these answers and the credentials it refers to. `credentialPath(name)` is how the
 * YAML names a credential file: `${CREDENTIALS_DIRECTORY}/name` for the system directory, a path otherwise.
 * Pure: nothing is read or written here.
 */
export function renderConfig(
  answers: InitAnswers,
  credentialPath: (name: string) => string,
): { yaml: string; credentials: Credential[] } {
  const credentials: Credential[] = [];
  const secretFile = (name: string, value: string) => {
    credentials.push({ name, value });
    return credentialPath(name);
  };

  const gateway: Record<string, unknown> = {};
  if (answers.gatewayId !== undefined) gateway.id = answers.gatewayId;
  if (answers.stateDir !== undefined) gateway.stateDir = answers.stateDir;

  const adapters: Record<string, unknown> = {};
  for (const radio of answers.radios) adapters[radio.kind] = adapterEntry(radio);
  if (answers.sim) adapters.sim = { type: 'sim', fleet: { climate: 2 }, reportIntervalMs: 10_000 };

  const config: Record<string, unknown> = {};
  if (Object.keys(gateway).length > 0) config.gateway = gateway;
  if (Object.keys(adapters).length > 0) config.adapters = adapters;
  config.routes = { cloud: { upstream: upstreamEntry(answers.cloud, secretFile) } };
  if (answers.stateDir !== undefined) config.control = { socket: `${answers.stateDir}/control.sock` };

  const header = [
    '# yaml-language-server: $schema=/usr/share/fieldgate/fieldgate.schema.json',
    '# Written by `fieldgate init`. Every key not written here has its default; all keys are described in',
    '# docs/configuration.example.yaml. Check a change with: fieldgate config validate <this file>',
    ...(credentials.length > 0
      ? ['# Secrets are not in this file: each `…File` key names a credential file (docs/secrets.md).']
      : []),
    '',
  ];
  return { yaml: `${header.join('\n')}${stringify(config)}`, credentials };
}

function adapterEntry(radio: RadioAnswer): Record<string, unknown> {
  switch (radio.kind) {
    case 'zigbee': {
      const { stick } = radio;
      return {
        type: 'zigbee',
        coordinator: stick.coordinator,
        serialPort: stick.path,
        ...(stick.baudRate === undefined ? {} : { baudRate: stick.baudRate }),
        ...(stick.rtscts === undefined ? {} : { rtscts: stick.rtscts }),
      };
    }
    case 'zwave':
      return { type: 'zwave', serialPort: radio.serialPort };
    case 'ble':
      return { type: 'ble', hciDevice: radio.hciDevice };
  }
}

function upstreamEntry(
  cloud: CloudAnswers,
  secretFile: (name: string, value: string) => string,
): Record<string, unknown> {
  switch (cloud.kind) {
    case 'mqtt':
      return {
        type: 'mqtt',
        url: cloud.url,
        ...(cloud.username === undefined ? {} : { username: cloud.username }),
        ...(cloud.password === undefined
          ? {}
          : { passwordFile: secretFile(CREDENTIAL_NAMES.mqttPassword, cloud.password) }),
      };
    case 'azure':
      if (cloud.connectionString !== undefined) {
        return {
          type: 'azure',
          connectionStringFile: secretFile(CREDENTIAL_NAMES.azureConnectionString, cloud.connectionString),
        };
      }
      return {
        type: 'azure',
        hostName: cloud.hostName,
        ...(cloud.deviceId === undefined ? {} : { deviceId: cloud.deviceId }),
        sharedAccessKeyFile: secretFile(CREDENTIAL_NAMES.azureSharedAccessKey, cloud.sharedAccessKey ?? ''),
      };
    case 'aws':
      return {
        type: 'aws',
        endpoint: cloud.endpoint,
        ...(cloud.thingName === undefined ? {} : { thingName: cloud.thingName }),
        tls: {
          certFile: cloud.certFile,
          keyFile: cloud.keyFile,
          ...(cloud.caFile === undefined ? {} : { caFile: cloud.caFile }),
        },
      };
  }
}
