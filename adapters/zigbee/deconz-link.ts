import type { Controller } from 'zigbee-herdsman';
import { errorMessage } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';

/**
 * herdsman's deCONZ driver (ConBee, RaspBee, and ConBee sticks shared over the network) differs from its
 * other drivers in two ways that matter when the coordinator goes away (docs/radios.md#coordinator-link):
 *
 * - It never emits `disconnected`: on a lost link it reconnects by itself, every 5 s, forever. Its timers
 *   also outlive `Controller.stop()`, so a stopped deCONZ controller keeps reconnecting; the adapter
 *   therefore never replaces an open one, it watches the driver's own link state instead
 *   (`selfReconnectingLink`), and stops the driver of a controller it gives up (`retireDeconzDriver`).
 * - Over TCP (`tcp://host:port`), zigbee-herdsman 10.9.5 registers the socket's `close` handler unbound, so
 *   a closed connection throws `this.emitStateEvent is not a function` out of the socket's event — an
 *   uncaught exception that ends the whole daemon (Koenkk/zigbee-herdsman#1820, fix proposed in #1821).
 *   `guardDeconzSocketClose` binds the handler to its driver before each socket is opened.
 */

/** The one part of herdsman's deCONZ driver the adapter reads: whether its link to the firmware is up. */
export interface SelfReconnectingLink {
  started(): boolean;
}

/** The deCONZ driver's internals that keep it alive after its controller is gone. */
interface DeconzDriverInternals {
  started?: () => boolean;
  tickTimer?: unknown;
  close?: () => Promise<void>;
}

function driverOf(controller: Controller): DeconzDriverInternals | undefined {
  return (controller as unknown as { adapter?: { driver?: DeconzDriverInternals } }).adapter?.driver;
}

interface DeconzDriverPrototype {
  openSocketPort?: (this: Record<string, unknown>, ...args: unknown[]) => Promise<void>;
  onPortClose?: (this: unknown, error?: unknown) => void;
  [guarded]?: true;
}

const guarded = Symbol('fieldgate.deconzSocketCloseGuard');

/**
 * Makes herdsman's deCONZ driver run its socket `close` handler as a method of the driver (as its serial
 * path already does), so a closed TCP connection reconnects instead of ending the process. Idempotent;
 * does nothing (and says so at debug) when the driver no longer has the shape this mends.
 */
export async function guardDeconzSocketClose(log: Logger): Promise<void> {
  let proto: DeconzDriverPrototype | undefined;
  try {
    // A CommonJS module with `exports.default`: Node's import puts the class at `default.default`.
    type Exported = { prototype?: DeconzDriverPrototype; default?: { prototype?: DeconzDriverPrototype } };
    const module = (await import('zigbee-herdsman/dist/adapter/deconz/driver/driver.js')) as unknown as {
      default?: Exported;
    };
    proto = module.default?.default?.prototype ?? module.default?.prototype;
  } catch (e) {
    log.debug({ err: errorMessage(e) }, 'The deCONZ driver cannot be loaded to guard its socket close.');
    return;
  }
  const open = proto?.openSocketPort;
  const onPortClose = proto?.onPortClose;
  if (proto === undefined || typeof open !== 'function' || typeof onPortClose !== 'function') {
    log.debug('The deCONZ driver has no socket close handler to guard; leaving it as it is.');
    return;
  }
  if (proto[guarded] === true) return;
  proto.openSocketPort = function openSocketPortBound(...args: unknown[]): Promise<void> {
    if (!Object.prototype.hasOwnProperty.call(this, 'onPortClose')) {
      this.onPortClose = onPortClose.bind(this);
    }
    return open.apply(this, args);
  };
  proto[guarded] = true;
}

/**
 * The driver link of a controller whose driver reconnects by itself (deCONZ), else undefined. Reads
 * herdsman internals (`Controller.adapter.driver.started()`), checked by shape: a herdsman that drops them
 * makes the adapter fall back to replacing the controller, as for every other driver.
 */
export function selfReconnectingLink(controller: Controller): SelfReconnectingLink | undefined {
  const driver = driverOf(controller);
  const started = driver?.started;
  if (typeof started !== 'function') return undefined;
  return { started: () => started.call(driver) === true };
}

/**
 * Ends a deCONZ driver for good once its controller is stopped or failed to start. herdsman's driver runs a
 * 100 ms state-machine timer from its constructor that no `stop()` clears, and that timer reconnects a
 * closed port every 5 s: without this, every failed open (a ConBee absent at startup, a network coordinator
 * that is off) would leave one more driver behind, each opening the port again — racing the next
 * controller for the same stick or TCP port. Clears that timer, then closes the port.
 */
export async function retireDeconzDriver(controller: Controller): Promise<void> {
  const driver = driverOf(controller);
  if (driver === undefined || driver.tickTimer === undefined) return;
  clearInterval(driver.tickTimer as NodeJS.Timeout);
  await driver.close?.().catch(() => undefined);
}

/** What the adapter does when a followed link drops and when it is back. */
export interface LinkEvents {
  down(why: string): void;
  up(was: string): void;
}

/**
 * Follows the link of an open controller whose driver reconnects by itself (deCONZ): the driver's link state
 * is polled, and a drop (seen by the poll or reported by the controller) and the return are each passed on
 * once. A controller without such a driver is not followed: the adapter replaces it when it goes away.
 */
export class SelfReconnectingLinkFollower {
  #link: SelfReconnectingLink | undefined;
  /** Why the followed link is down; undefined while it is up. */
  #downBecause: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly port: string | undefined,
    private readonly events: LinkEvents,
  ) {}

  /** Polls every `intervalMs` while `isActive()` (the adapter is running with a controller). */
  watch(intervalMs: number, isActive: () => boolean): void {
    this.#timer = setInterval(() => {
      if (isActive()) this.poll();
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Follows the newly opened `controller`, if its driver reconnects by itself. */
  follow(controller: Controller): void {
    this.#link = selfReconnectingLink(controller);
    this.#downBecause = undefined;
  }

  forget(): void {
    this.#link = undefined;
    this.#downBecause = undefined;
  }

  get isFollowing(): boolean {
    return this.#link !== undefined;
  }

  /** The followed link dropped (the controller said so, or the poll saw it). */
  wentDown(why: string): void {
    if (this.#link === undefined || this.#downBecause !== undefined) return;
    this.#downBecause = why;
    this.events.down(why);
  }

  private poll(): void {
    if (this.#link === undefined) return;
    if (!this.#link.started()) {
      this.wentDown(this.lossReason());
    } else if (this.#downBecause !== undefined) {
      const was = this.#downBecause;
      this.#downBecause = undefined;
      this.events.up(was);
    }
  }

  private lossReason(): string {
    const port = this.port ?? 'the coordinator';
    return /^tcp:\/\//i.test(port) ? `the connection to ${port} was lost` : `the link to ${port} was lost`;
  }
}
