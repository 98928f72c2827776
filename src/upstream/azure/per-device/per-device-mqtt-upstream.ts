import { RateLimiter } from '../../common/rate-limiter.js';
import { AzureMqttUpstream } from '../mqtt/azure-mqtt-upstream.js';
import type { AzureConnectorOptions } from '../connector-options.js';
import { PerDeviceLinksUpstream } from './per-device-links.js';

export type PerDeviceMqttUpstreamOptions = AzureConnectorOptions;

/**
 * `identity: perDevice` over MQTT (docs/clouds/azure-iot-hub.md#mqtt-connect, #gateway-patterns). The hub
 * takes one device identity per MQTT
 * connection, so every leaf gets its own: an {@link AzureMqttUpstream} that connects as the leaf's hub
 * device (client id, username and SAS token its own, renewed by reconnecting like the gateway's), receives
 * the C2D messages and direct methods sent to that device, and publishes the leaf's telemetry and command
 * results. At most `maxLeafConnections` are open at once; all share the route's publish pacing, since the
 * hub throttles per hub, not per device. AMQP carries all leaves on one connection and suits this mode
 * better (docs/clouds/azure-iot-hub.md#gateway-patterns).
 */
export function createPerDeviceMqttUpstream(options: PerDeviceMqttUpstreamOptions): PerDeviceLinksUpstream {
  const { config } = options;
  const limiter = new RateLimiter({ perSecond: config.maxMessagesPerSecond });
  return new PerDeviceLinksUpstream({
    config,
    log: options.log.child({
      component: 'azure-upstream',
      route: options.route,
      identity: 'perDevice',
    }),
    protocol: 'MQTT',
    maxOpenLinks: config.maxLeafConnections,
    ...(options.now === undefined ? {} : { now: options.now }),
    createLink: (leaf, identity) => new AzureMqttUpstream({ ...options, identity, leaf, limiter }),
  });
}
