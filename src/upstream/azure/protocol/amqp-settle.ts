import type { Delivery } from 'rhea';

/** The part of rhea's connection that writes what is pending now instead of on the next tick. */
interface Flushable {
  _process(): void;
}

/**
 * Settle one received delivery so that its disposition goes out in a frame of its own, with its own
 * outcome. rhea 3.0.5 writes the dispositions settled in one tick as ranges, and checks whether the next
 * delivery's outcome differs only once a range holds two deliveries: two adjacent deliveries settled in one
 * tick go out as one range with the first one's outcome (docs/clouds/azure-iot-hub.md#amqp-dispositions).
 * The fix belongs in rhea; until then this writes whatever is pending, settles, and writes again, which is
 * what rhea would do on the next tick anyway, only one delivery at a time. `settle` must settle `delivery`
 * (accept, reject, release or modified) and nothing else.
 */
export function settleAlone(delivery: Delivery, settle: (delivery: Delivery) => void): void {
  const connection = delivery.link.connection as unknown as Flushable;
  connection._process();
  settle(delivery);
  connection._process();
}
