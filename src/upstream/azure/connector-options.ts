import type { AzureUpstreamConfig } from '../../config/upstreams/azure.js';
import type { Logger } from '../../logger.js';
import type { UpstreamLimits } from '../upstream.js';
import { BILLING_UNIT_BYTES } from './protocol/limits.js';

/** What every Azure connector is built from (the registry passes these for a route's `upstream`). */
export interface AzureConnectorOptions {
  config: AzureUpstreamConfig;
  gatewayId: string;
  route: string;
  log: Logger;
  /** Reads the TLS files named in config; injectable for tests. */
  readFile?: (path: string) => Promise<Buffer>;
  now?: () => number;
}

/** An Azure connector's limits: the configured message size and rate, billed in the hub's 4 KB units. */
export function azureLimits(config: AzureUpstreamConfig): UpstreamLimits {
  return {
    maxMessageBytes: config.maxMessageBytes,
    maxMessagesPerSecond: config.maxMessagesPerSecond,
    billingUnitBytes: BILLING_UNIT_BYTES,
  };
}
