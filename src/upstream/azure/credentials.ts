import type { AzureUpstreamConfig } from '../../config/upstreams/azure.js';
import { FieldgateError } from '../../errors.js';
import { parseConnectionString } from './protocol/connection-string.js';
import { createSasToken } from './protocol/sas.js';

/** Who we are to the hub and how we prove it. Pure; holds the key, so never log it. */
export interface AzureIdentity {
  hostName: string;
  deviceId: string;
  /** Where the socket goes; the username and token still name `hostName`. */
  endpoint: string;
  auth: { kind: 'sas'; keyBase64: string; policyName?: string } | { kind: 'x509' };
}

/** The hub's host name and where the socket goes; throws FG_CONFIG_INVALID without a host name. */
export function resolveHub(config: AzureUpstreamConfig): { hostName: string; endpoint: string } {
  const parsed =
    config.connectionString === undefined ? undefined : parseConnectionString(config.connectionString);
  const hostName = config.hostName ?? parsed?.hostName;
  if (hostName === undefined) {
    throw new FieldgateError('FG_CONFIG_INVALID', 'The Azure upstream needs hostName or connectionString.');
  }
  const target = parsed?.gatewayHostName ?? hostName;
  const defaultEndpoint = {
    mqtt: `mqtts://${target}:8883`,
    amqp: `amqps://${target}:5671`,
    https: `https://${target}`,
  }[config.protocol];
  return { hostName, endpoint: config.endpoint ?? defaultEndpoint };
}

/** Resolve the config (and its connection string, if any) into one identity; throws FG_CONFIG_INVALID. */
export function resolveIdentity(config: AzureUpstreamConfig, gatewayId: string): AzureIdentity {
  const parsed =
    config.connectionString === undefined ? undefined : parseConnectionString(config.connectionString);
  const { hostName, endpoint } = resolveHub(config);
  const deviceId = config.deviceId ?? parsed?.deviceId ?? gatewayId;
  const keyBase64 = config.sharedAccessKey ?? parsed?.sharedAccessKey;
  const policyName = config.sharedAccessKeyName ?? parsed?.sharedAccessKeyName;
  if (keyBase64 !== undefined) {
    return {
      hostName,
      deviceId,
      endpoint,
      auth: policyName === undefined ? { kind: 'sas', keyBase64 } : { kind: 'sas', keyBase64, policyName },
    };
  }
  if (config.tls.certFile !== undefined || parsed?.isX509 === true) {
    return { hostName, deviceId, endpoint, auth: { kind: 'x509' } };
  }
  throw new FieldgateError(
    'FG_CONFIG_INVALID',
    'The Azure upstream needs a sharedAccessKey, a connection string with one, or tls.certFile.',
  );
}

/**
 * A SAS token for the identity's device, valid until `expiresAtS`. A policy key signs for the one device
 * too (the narrowest scope that works), which the hub accepts for DeviceConnect policies.
 */
export function deviceToken(identity: AzureIdentity, expiresAtS: number): string | undefined {
  if (identity.auth.kind !== 'sas') return undefined;
  return createSasToken({
    resourceUri: `${identity.hostName}/devices/${identity.deviceId}`,
    keyBase64: identity.auth.keyBase64,
    expiresAtS,
    ...(identity.auth.policyName === undefined ? {} : { policyName: identity.auth.policyName }),
  });
}
