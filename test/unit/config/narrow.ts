import type { Config } from '../../../src/config/schema.js';

type Upstream = Config['routes'][string]['upstream'];
type AdapterConfig = Config['adapters'][string];

/** The route's upstream, asserted to be the generic MQTT one (the test fails if it is not). */
export function mqttUpstreamOf(config: Config, route: string): Extract<Upstream, { type: 'mqtt' }> {
  const upstream = config.routes[route]?.upstream;
  if (upstream?.type !== 'mqtt') throw new Error(`route ${route} has no mqtt upstream`);
  return upstream;
}

/** The adapter, asserted to be a sim adapter. */
export function simAdapterOf(config: Config, name: string): Extract<AdapterConfig, { type: 'sim' }> {
  const adapter = config.adapters[name];
  if (adapter?.type !== 'sim') throw new Error(`adapter ${name} is not a sim adapter`);
  return adapter;
}
