import { hostOfListen, isLoopbackHost } from './listen-address.js';
import type { Config, UpstreamConfig } from '../config/schema.js';

/**
 * A setting that opens the gateway wider than its defaults: a listener reachable from the network, or an
 * upstream connection without TLS or without certificate verification. Logged as WARN at start and listed
 * by `fieldgate doctor`; never refused, since each has a legitimate use (a lab, an emulator, a private LAN).
 */
export interface Exposure {
  /** The config key, dotted (`metrics.listen`, `routes.cloud.upstream.tls.rejectUnauthorized`). */
  path: string;
  /** What the setting means for whoever can reach the gateway, as a sentence. */
  message: string;
  /** What to do instead. */
  hint: string;
}

export { hostOfListen, isLoopbackHost } from './listen-address.js';

/** Every risky bind and TLS setting in a config, in a stable order. `env` is checked for TLS switches. */
export function findExposures(config: Config, env: NodeJS.ProcessEnv = {}): Exposure[] {
  const found: Exposure[] = [];
  const { listen } = config.metrics;
  if (listen !== '' && !isLoopbackHost(hostOfListen(listen))) {
    found.push({
      path: 'metrics.listen',
      message: `The metrics endpoint ${listen} (/metrics, /healthz, /readyz) is reachable from the network, without authentication.`,
      hint: 'listen on 127.0.0.1:9464 and scrape locally or through an authenticating proxy, or firewall the port',
    });
  }
  // Optional chaining: configs built in code (tests, older callers) may predate the `web:` section.
  const web = config.web;
  if (web?.enabled === true && !isLoopbackHost(hostOfListen(web.listen))) {
    found.push({
      path: 'web.listen',
      message: `The status page ${web.listen} is reachable from the network over plain HTTP; only web.tokens holders may open it, but a token typed there crosses the LAN unencrypted.`,
      hint: 'listen on 127.0.0.1:9465 and open it through an SSH tunnel (ssh -L 9465:127.0.0.1:9465 <gateway>) or a TLS proxy',
    });
  }
  const broker = config.emulators.mqtt;
  if (broker.enabled && !isLoopbackHost(broker.host)) {
    const auth = broker.password === undefined ? 'without authentication' : 'its password sent in plaintext';
    found.push({
      path: 'emulators.mqtt.host',
      message: `The demo MQTT broker on ${broker.host}:${broker.port} is reachable from the network, ${auth}.`,
      hint: 'keep emulators.mqtt.host on 127.0.0.1; the demo broker is for development, not for a network',
    });
  }
  for (const [name, route] of Object.entries(config.routes))
    found.push(...upstreamExposures(`routes.${name}.upstream`, name, route.upstream));
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    found.push({
      path: 'NODE_TLS_REJECT_UNAUTHORIZED',
      message:
        'The environment sets NODE_TLS_REJECT_UNAUTHORIZED=0: no TLS connection of this process verifies the server certificate.',
      hint: 'remove the variable (systemctl show fieldgate -p Environment); trust a private CA with tls.caFile instead',
    });
  }
  return found;
}

/** Schemes that carry no TLS, per upstream type. */
const PLAINTEXT_SCHEMES = new Set(['mqtt:', 'tcp:', 'ws:', 'amqp:', 'http:']);

function upstreamExposures(path: string, route: string, upstream: UpstreamConfig): Exposure[] {
  const found: Exposure[] = [];
  const tls = 'tls' in upstream ? (upstream.tls as { rejectUnauthorized?: boolean } | undefined) : undefined;
  if (tls?.rejectUnauthorized === false) {
    found.push({
      path: `${path}.tls.rejectUnauthorized`,
      message: `Route ${route} does not verify the server's TLS certificate: anyone on the network path can read and change its traffic and take its credentials.`,
      hint: 'remove rejectUnauthorized: false; for a private or emulator CA set tls.caFile to it',
    });
  }
  // AWS always connects with TLS and verification; it has no setting to relax.
  const target =
    upstream.type === 'mqtt'
      ? { key: 'url', url: upstream.url, hasPassword: upstream.password !== undefined }
      : upstream.type === 'azure' && upstream.endpoint !== undefined
        ? // A SAS token or key proof goes with every Azure connection.
          { key: 'endpoint', url: upstream.endpoint, hasPassword: true }
        : undefined;
  if (target === undefined) return found;
  const url = parseUrl(target.url);
  // The URL itself is never repeated: it may carry user:password@.
  if (url !== undefined && PLAINTEXT_SCHEMES.has(url.protocol) && !isLoopbackHost(url.hostname)) {
    const credentials = target.hasPassword || url.password !== '' ? ', credentials included' : '';
    found.push({
      path: `${path}.${target.key}`,
      message: `Route ${route} sends to ${url.hostname} without TLS (${url.protocol}//)${credentials}: anyone on the network path can read and change it.`,
      hint:
        upstream.type === 'azure'
          ? 'use mqtts://, amqps:// or https:// (or drop endpoint: the hub default is TLS); plaintext is for a local emulator only'
          : 'use mqtts:// (or wss://) with the broker’s TLS port',
    });
  }
  return found;
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
