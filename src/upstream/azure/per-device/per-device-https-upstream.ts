import { RateLimiter } from '../../common/rate-limiter.js';
import { AzureHttpsUpstream } from '../https/azure-https-upstream.js';
import type { AzureConnectorOptions } from '../connector-options.js';
import { PerDeviceLinksUpstream } from './per-device-links.js';

export type PerDeviceHttpsUpstreamOptions = AzureConnectorOptions;

/** The golden ratio's fractional part: successive multiples of it spread evenly over [0, 1) for any count. */
const SPREAD_STEP = (Math.sqrt(5) - 1) / 2;

/**
 * `identity: perDevice` over HTTPS (docs/clouds/azure-iot-hub.md#https, #gateway-patterns). Each leaf is an
 * {@link AzureHttpsUpstream} for its
 * hub device: every request carries that device's SAS token (cached until `tokenRenewBeforeS` before it
 * expires), its readings go in batches (`application/vnd.microsoft.iothub.json`) to its own events path,
 * and its C2D queue is polled every `c2dPollIntervalS` — so N leaves cost N polls per interval. The k-th
 * leaf's polls are offset by frac(k·0.618…) of the interval so they spread instead of arriving together.
 * All share the route's publish pacing, since the hub throttles per hub, not per device.
 */
export function createPerDeviceHttpsUpstream(options: PerDeviceHttpsUpstreamOptions): PerDeviceLinksUpstream {
  const { config } = options;
  const limiter = new RateLimiter({ perSecond: config.maxMessagesPerSecond });
  const intervalMs = config.c2dPollIntervalS * 1000;
  let created = 0;
  return new PerDeviceLinksUpstream({
    config,
    log: options.log.child({
      component: 'azure-https-upstream',
      route: options.route,
      identity: 'perDevice',
    }),
    protocol: 'HTTPS',
    // Nothing stays open between requests, so there is nothing to cap.
    maxOpenLinks: Infinity,
    ...(options.now === undefined ? {} : { now: options.now }),
    createLink: (leaf, identity) => {
      const pollOffsetMs = Math.round(((created * SPREAD_STEP) % 1) * intervalMs);
      created += 1;
      return new AzureHttpsUpstream({ ...options, identity, leaf, limiter, pollOffsetMs });
    },
  });
}
