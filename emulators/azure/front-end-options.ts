import type { Logger } from '../../src/logger.js';
import type { C2dQueues } from './c2d-queue.js';
import type { D2cRecord } from './d2c-record.js';
import type { HubMeter } from './meter.js';
import type { HubRegistry } from './registry.js';

/** The hub's shared state that every device-facing front end (MQTT, AMQP, HTTPS) checks and feeds. */
export interface HubServices {
  registry: HubRegistry;
  c2d: C2dQueues;
  meter: HubMeter;
  log: Logger;
  now: () => number;
  /** Every accepted D2C message. */
  onD2c: (record: D2cRecord) => void;
}

/** Where a front end with its own server listens. */
export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Without it the front end speaks plain TCP (local tests); with it, TLS that asks for a client certificate. */
  tls?: { cert: Buffer; key: Buffer };
}
