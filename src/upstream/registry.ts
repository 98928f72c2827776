import type { Logger } from '../logger.js';
import type { UpstreamConfig } from '../config/schema.js';
import type { GatewayStatus, Upstream } from './upstream.js';

export interface UpstreamContext {
  gatewayId: string;
  route: string;
  log: Logger;
  /**
   * Optional: the gateway's current status (as `fieldgate status --json`), for upstreams that report it to
   * the cloud (the Azure twin). May be called any time after `connect`.
   */
  status?: () => GatewayStatus;
}

/**
 * Builds the connector for a route's upstream. Each cloud is loaded with a lazy `import()`, so a gateway
 * that talks MQTT never loads the AMQP or AWS code.
 */
export async function createUpstream(config: UpstreamConfig, context: UpstreamContext): Promise<Upstream> {
  switch (config.type) {
    case 'mqtt': {
      const { MqttUpstream } = await import('./mqtt/mqtt-upstream.js');
      return new MqttUpstream({ config, ...context });
    }
    case 'aws': {
      const { AwsUpstream } = await import('./aws/aws-upstream.js');
      return new AwsUpstream({ config, ...context });
    }
    case 'azure': {
      if (config.identity === 'perDevice') {
        const { createPerDeviceAzureUpstream } = await import('./azure/per-device/per-device-upstream.js');
        return createPerDeviceAzureUpstream({ config, ...context });
      }
      if (config.protocol === 'amqp') {
        const { AzureAmqpUpstream } = await import('./azure/amqp/azure-amqp-upstream.js');
        return new AzureAmqpUpstream({ config, ...context });
      }
      if (config.protocol === 'https') {
        const { AzureHttpsUpstream } = await import('./azure/https/azure-https-upstream.js');
        return new AzureHttpsUpstream({ config, ...context });
      }
      const { AzureMqttUpstream } = await import('./azure/mqtt/azure-mqtt-upstream.js');
      return new AzureMqttUpstream({ config, ...context });
    }
  }
}
