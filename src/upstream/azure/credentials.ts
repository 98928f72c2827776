import { moduleIdentityRefusal, type AzureUpstreamConfig } from '../../config/upstreams/azure.js';
import { FieldgateError } from '../../errors.js';
import { parseConnectionString } from './protocol/connection-string.js';
import { createSasToken } from './protocol/sas.js';
import { identityPath } from './protocol/topics.js';

/** Who we are to the hub and how we prove it. Pure; holds the key, so never log it. */
export interface AzureIdentity {
  hostName: string;
  deviceId: string;
  /** A module identity of `deviceId` (`moduleId` or `ModuleId=`); absent for the device itself. */
  moduleId?: string;
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
  // A module named only in the connection string is checked here, as the schema checks `moduleId`: never
  // dropped in silence (the hub would refuse the device's token for a module's key).
  const refusal = parsed?.moduleId === undefined ? undefined : moduleIdentityRefusal(config);
  if (refusal !== undefined) {
    throw new FieldgateError('FG_CONFIG_INVALID', `The Azure connection string has a ModuleId: ${refusal}.`);
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
  const moduleId = config.moduleId ?? parsed?.moduleId;
  const named = { hostName, deviceId, ...(moduleId === undefined ? {} : { moduleId }), endpoint };
  const keyBase64 = config.sharedAccessKey ?? parsed?.sharedAccessKey;
  const policyName = config.sharedAccessKeyName ?? parsed?.sharedAccessKeyName;
  if (keyBase64 !== undefined) {
    return {
      ...named,
      auth: policyName === undefined ? { kind: 'sas', keyBase64 } : { kind: 'sas', keyBase64, policyName },
    };
  }
  if (config.tls.certFile !== undefined || parsed?.isX509 === true) {
    return { ...named, auth: { kind: 'x509' } };
  }
  throw new FieldgateError(
    'FG_CONFIG_INVALID',
    'The Azure upstream needs a sharedAccessKey, a connection string with one, or tls.certFile.',
  );
}

/** `{host}/devices/{d}` or `{host}/devices/{d}/modules/{m}`: what the identity's tokens are scoped to. */
export function identityResource(identity: AzureIdentity): string {
  return `${identity.hostName}/${identityPath(identity.deviceId, identity.moduleId)}`;
}

/**
 * A SAS token for the identity (its device, or its module), valid until `expiresAtS`. A policy key signs
 * for the one identity too (the narrowest scope that works), which the hub accepts for DeviceConnect
 * policies.
 */
export function deviceToken(identity: AzureIdentity, expiresAtS: number): string | undefined {
  if (identity.auth.kind !== 'sas') return undefined;
  return createSasToken({
    resourceUri: identityResource(identity),
    keyBase64: identity.auth.keyBase64,
    expiresAtS,
    ...(identity.auth.policyName === undefined ? {} : { policyName: identity.auth.policyName }),
  });
}
