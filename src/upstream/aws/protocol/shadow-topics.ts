import type { AwsUpstreamConfig } from '../../../config/upstreams/aws.js';

/** Where one leaf's shadow lives: a thing and, for a named shadow, its name. */
export interface ShadowAddress {
  thing: string;
  /** Undefined for a classic shadow. */
  shadow?: string;
}

/**
 * The responses the gateway listens to (docs/clouds/aws-iot-core.md#device-shadow); `get/accepted` and
 * `update/accepted` answer its own requests.
 */
export type ShadowResponse =
  'update/accepted' | 'update/rejected' | 'update/delta' | 'get/accepted' | 'get/rejected';

const RESPONSES: readonly ShadowResponse[] = [
  'update/accepted',
  'update/rejected',
  'update/delta',
  'get/accepted',
  'get/rejected',
];

/**
 * Thing and shadow names allow letters, digits, `:`, `_` and `-`; thing ≤ 128 B, shadow ≤ 64 B
 * (docs/clouds/aws-iot-core.md#device-shadow).
 */
const NAME_CHAR = /[^a-zA-Z0-9:_-]/g;
const MAX_THING_BYTES = 128;
const MAX_SHADOW_BYTES = 64;

/**
 * Why IoT Core refuses these thing and shadow names (400), or undefined when they are valid: the rules
 * above, and not empty.
 */
export function shadowNameViolation(address: ShadowAddress): string | undefined {
  const check = (what: string, name: string, maxBytes: number): string | undefined => {
    if (name.length === 0) return `${what} name is empty`;
    if (Buffer.byteLength(name) > maxBytes) return `${what} name is longer than ${maxBytes} bytes`;
    if (new RegExp(NAME_CHAR.source).test(name)) {
      return `${what} name may contain only letters, digits, ':', '_' and '-'`;
    }
    return undefined;
  };
  return (
    check('thing', address.thing, MAX_THING_BYTES) ??
    (address.shadow === undefined ? undefined : check('shadow', address.shadow, MAX_SHADOW_BYTES))
  );
}

const RESPONSE_TOPIC =
  /^\$aws\/things\/([^/]+)\/shadow(?:\/name\/([^/]+))?\/(update\/accepted|update\/rejected|update\/delta|get\/accepted|get\/rejected)$/;

/**
 * Shadow naming for the configured mode: `named` puts each leaf in a named shadow on the gateway thing,
 * `classic` gives each leaf its own thing and uses its classic shadow. Either way five wildcard
 * subscriptions cover every leaf, so the fleet size never runs into the 50-subscription limit.
 */
export class ShadowTopics {
  readonly #mode: 'named' | 'classic';
  readonly #gatewayThing: string;
  readonly #nameTemplate: string;

  constructor(shadows: AwsUpstreamConfig['shadows'], gatewayThing: string) {
    this.#mode = shadows.mode === 'classic' ? 'classic' : 'named';
    this.#gatewayThing = gatewayThing;
    this.#nameTemplate = shadows.name;
  }

  /** The shadow of a leaf device. */
  addressOf(device: string): ShadowAddress {
    const name = this.#nameTemplate.replaceAll('{device}', device).replace(NAME_CHAR, '_');
    return this.#mode === 'named'
      ? { thing: this.#gatewayThing, shadow: truncate(name, MAX_SHADOW_BYTES) }
      : { thing: truncate(name, MAX_THING_BYTES) };
  }

  /** `$aws/things/{thing}/shadow[/name/{shadow}]`: append `/update`, `/get` and so on. */
  prefixOf(address: ShadowAddress): string {
    const base = `$aws/things/${address.thing}/shadow`;
    return address.shadow === undefined ? base : `${base}/name/${address.shadow}`;
  }

  /** The subscription filters for every leaf's responses. */
  filters(): string[] {
    const prefix =
      this.#mode === 'named' ? `$aws/things/${this.#gatewayThing}/shadow/name/+` : '$aws/things/+/shadow';
    return RESPONSES.map((r) => `${prefix}/${r}`);
  }

  /** The shadow and response kind of an incoming topic, or undefined when it is not a shadow response. */
  parse(topic: string): { address: ShadowAddress; response: ShadowResponse } | undefined {
    const match = RESPONSE_TOPIC.exec(topic);
    if (match === null) return undefined;
    const address: ShadowAddress = { thing: match[1]! };
    if (match[2] !== undefined) address.shadow = match[2];
    return { address, response: match[3] as ShadowResponse };
  }
}

/** A map key for an address. */
export function shadowKey(address: ShadowAddress): string {
  return `${address.thing}/${address.shadow ?? ''}`;
}

function truncate(name: string, maxBytes: number): string {
  // Names are ASCII after replacing disallowed characters, so bytes and characters agree.
  return name.slice(0, maxBytes);
}
