import type { AzureUpstreamConfig } from '../../../config/upstreams/azure.js';
import type { Logger } from '../../../logger.js';
import type { Upstream } from '../../upstream.js';
import { PerDeviceAmqpUpstream } from './per-device-amqp-upstream.js';
import { createPerDeviceHttpsUpstream } from './per-device-https-upstream.js';
import { createPerDeviceMqttUpstream } from './per-device-mqtt-upstream.js';

/**
 * The connector for `identity: perDevice`. AMQP suits it best
 * (docs/clouds/azure-iot-hub.md#gateway-patterns): every leaf rides one
 * connection. MQTT needs a TLS connection per leaf (capped by `maxLeafConnections`), HTTPS a token per
 * device on each request and a C2D poll per leaf.
 */
export function createPerDeviceAzureUpstream(options: {
  config: AzureUpstreamConfig;
  gatewayId: string;
  route: string;
  log: Logger;
}): Upstream {
  switch (options.config.protocol) {
    case 'amqp':
      return new PerDeviceAmqpUpstream(options);
    case 'mqtt':
      return createPerDeviceMqttUpstream(options);
    case 'https':
      return createPerDeviceHttpsUpstream(options);
  }
}
