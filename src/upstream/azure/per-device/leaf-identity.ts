import { createHmac } from 'node:crypto';
import type { AzureUpstreamConfig } from '../../../config/upstreams/azure.js';
import { parseConnectionString } from '../protocol/connection-string.js';
import { resolveHub, type AzureIdentity } from '../credentials.js';

/**
 * Identity translation (docs/clouds/azure-iot-hub.md#gateway-patterns): which hub device each leaf is, and
 * how the gateway
 * proves it. Pure; holds keys, so never log what it returns.
 *
 * A leaf's hub device id is `leaves[leaf].deviceId`, or else the leaf id with every character outside
 * {@link SAFE_DEVICE_ID_CHAR} replaced by `_`. The hub also allows `+ # ? %`, but `+`/`#` are MQTT
 * wildcards and `?`/`%` mean something in a URL, so the default leaves them out; name such a device
 * explicitly. Its key, first match wins: `leaves[leaf].sharedAccessKey`; a key derived from `groupKey`
 * the way DPS derives enrollment-group device keys; a hub policy with DeviceConnect (`sharedAccessKey` +
 * `sharedAccessKeyName`). Without any, or when two leaves would be the same hub device, the leaf has no
 * identity and the reason says why.
 */

/** The characters a default hub device id keeps. */
const SAFE_DEVICE_ID_CHAR = /[A-Za-z0-9\-:._*!(),=@;$']/;
const MAX_DEVICE_ID_LENGTH = 128;

export type LeafIdentity =
  { kind: 'ok'; leaf: string; identity: AzureIdentity } | { kind: 'none'; leaf: string; reason: string };

/** The default hub device id of a leaf: unsafe characters (and non-ASCII ones) become `_`. */
export function defaultHubDeviceId(leaf: string): string {
  return Array.from(leaf, (c) => (SAFE_DEVICE_ID_CHAR.test(c) ? c : '_')).join('');
}

/**
 * The device key DPS derives for a device of a symmetric-key enrollment group: the base64 group key is
 * decoded and used as the HMAC-SHA256 key over the UTF-8 registration id (here the hub device id), and the
 * MAC is base64-encoded.
 */
export function deriveDeviceKey(groupKeyBase64: string, deviceId: string): string {
  return createHmac('sha256', Buffer.from(groupKeyBase64, 'base64'))
    .update(deviceId, 'utf8')
    .digest('base64');
}

export class LeafIdentities {
  readonly #hostName: string;
  readonly #endpoint: string;
  readonly #leaves: AzureUpstreamConfig['leaves'];
  readonly #groupKey: string | undefined;
  readonly #policy: { keyBase64: string; policyName: string } | undefined;
  readonly #resolved = new Map<string, LeafIdentity>();
  /** Hub device id → the leaf that has it; a second leaf mapping to it is refused. */
  readonly #owners = new Map<string, string>();

  /** Throws FG_CONFIG_INVALID when the config names no hub. */
  constructor(config: AzureUpstreamConfig) {
    const hub = resolveHub(config);
    this.#hostName = hub.hostName;
    this.#endpoint = hub.endpoint;
    this.#leaves = config.leaves;
    this.#groupKey = config.groupKey;
    const parsed =
      config.connectionString === undefined ? undefined : parseConnectionString(config.connectionString);
    const policyKey = config.sharedAccessKey ?? parsed?.sharedAccessKey;
    const policyName = config.sharedAccessKeyName ?? parsed?.sharedAccessKeyName;
    // A key without a policy name is the gateway's own device key: it proves nothing for a leaf.
    if (policyKey !== undefined && policyName !== undefined) {
      this.#policy = { keyBase64: policyKey, policyName };
    }
    // Explicitly configured leaves claim their device ids first, whatever order readings arrive in.
    for (const leaf of Object.keys(config.leaves)) this.resolve(leaf);
  }

  get hostName(): string {
    return this.#hostName;
  }

  /** Where the socket goes (`endpoint`, or the protocol's default port on the hub or its gateway host). */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** A DeviceConnect policy key, which can cover every leaf with one hub-scoped token (AMQP). */
  get policy(): { keyBase64: string; policyName: string } | undefined {
    return this.#policy;
  }

  /** Leaves named in the config: their C2D links are opened at connect, before they send anything. */
  configuredLeaves(): string[] {
    return Object.keys(this.#leaves);
  }

  resolve(leaf: string): LeafIdentity {
    const known = this.#resolved.get(leaf);
    if (known !== undefined) return known;
    const result = this.#resolveNew(leaf);
    this.#resolved.set(leaf, result);
    return result;
  }

  /** The leaf whose hub device this is, if any leaf resolved to it. */
  leafOf(deviceId: string): string | undefined {
    return this.#owners.get(deviceId);
  }

  #resolveNew(leaf: string): LeafIdentity {
    const configured = this.#leaves[leaf];
    const deviceId = configured?.deviceId ?? defaultHubDeviceId(leaf);
    if (deviceId.length > MAX_DEVICE_ID_LENGTH) {
      return none(
        leaf,
        `its hub device id would exceed ${MAX_DEVICE_ID_LENGTH} characters; set leaves.deviceId`,
      );
    }
    const owner = this.#owners.get(deviceId);
    if (owner !== undefined) {
      return none(leaf, `hub device id ${deviceId} is already leaf ${owner}'s; set leaves.deviceId`);
    }
    let auth: AzureIdentity['auth'] | undefined;
    if (configured?.sharedAccessKey !== undefined) {
      auth = { kind: 'sas', keyBase64: configured.sharedAccessKey };
    } else if (this.#groupKey !== undefined) {
      auth = { kind: 'sas', keyBase64: deriveDeviceKey(this.#groupKey, deviceId) };
    } else if (this.#policy !== undefined) {
      auth = { kind: 'sas', ...this.#policy };
    }
    if (auth === undefined) {
      return none(leaf, 'no key for it (leaves.sharedAccessKey, groupKey or a DeviceConnect policy)');
    }
    this.#owners.set(deviceId, leaf);
    return {
      kind: 'ok',
      leaf,
      identity: { hostName: this.#hostName, deviceId, endpoint: this.#endpoint, auth },
    };
  }
}

function none(leaf: string, reason: string): LeafIdentity {
  return { kind: 'none', leaf, reason };
}
