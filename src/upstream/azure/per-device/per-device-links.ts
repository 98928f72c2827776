import type { AzureUpstreamConfig } from '../../../config/upstreams/azure.js';
import { FieldgateError, errorMessage, isFieldgateError } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import type { CommandResult, Envelope } from '../../../model.js';
import { incomingId, type CommandHandler, type IncomingCommand } from '../../../commands/incoming.js';
import type { SendResult, Upstream, UpstreamLimits } from '../../upstream.js';
import { CommandInbox } from '../../common/command-inbox.js';
import type { AzureUpstreamStats } from '../mqtt/azure-mqtt-upstream.js';
import { azureLimits } from '../connector-options.js';
import type { AzureIdentity } from '../credentials.js';
import { HeldLeaves, type HeldLeaf } from './held-leaves.js';
import { LeafIdentities } from './leaf-identity.js';
import { PerDeviceSend } from './per-device-send.js';

/** A connector that speaks as one hub device (a leaf's), with its own counters. */
export type LeafLink = Omit<Upstream, 'stats'> & { stats(): AzureUpstreamStats };

export interface PerDeviceLinksOptions {
  config: AzureUpstreamConfig;
  log: Logger;
  /** The protocol, for messages: `MQTT` or `HTTPS`. */
  protocol: string;
  /**
   * Links kept open at once; when another is needed the least recently used idle one is closed (its C2D
   * waits in the hub until it connects again). Infinity: no cap.
   */
  maxOpenLinks: number;
  /** A link that speaks as the leaf's hub device; its `onCommand` is set by the caller. */
  createLink: (leaf: string, identity: AzureIdentity) => LeafLink;
  now?: () => number;
}

/** Leaves sent for at once within one batch (each on its own link). */
const MAX_PARALLEL_LEAVES = 32;
/** Command ids remembered with the leaf whose link they came on, so the result goes back on it. */
const COMMAND_MEMORY = 1000;

/**
 * `identity: perDevice` for protocols where one connection (or request) speaks for one device only, MQTT
 * and HTTPS (docs/clouds/azure-iot-hub.md#gateway-patterns): every leaf gets its own link — a
 * gateway-identity connector built for the leaf's
 * hub device — opened on its first reading (configured leaves at connect, so their C2D arrives before they
 * send). Each link renews its own token as it does for the gateway. A command arriving on a leaf's link is
 * for that leaf; its result goes back on the same link.
 *
 * A leaf without a usable identity does not hold up the others (see {@link PerDeviceSend}); a leaf the hub
 * refuses is held and tried again after `refusedRetryS`. `isConnected` turns false when a link cannot reach
 * the hub at all, so the forwarder backs off and `connect` probes again (configured leaves, or else the leaf
 * that failed).
 */
export class PerDeviceLinksUpstream implements Upstream {
  readonly limits: UpstreamLimits;
  readonly #config: AzureUpstreamConfig;
  readonly #log: Logger;
  readonly #protocol: string;
  readonly #maxOpenLinks: number;
  readonly #createLink: (leaf: string, identity: AzureIdentity) => LeafLink;
  readonly #identities: LeafIdentities;
  readonly #held: HeldLeaves;
  /** Leaf → its link, least recently used first. */
  readonly #links = new Map<string, LeafLink>();
  readonly #opening = new Map<string, Promise<LeafLink | undefined>>();
  /** Leaf → how many sends or results are using its link right now; such a link is never closed for room. */
  readonly #inUse = new Map<string, number>();
  readonly #commandLeaf = new Map<string, string>();
  /** Counters of links closed for room, so `stats()` keeps counting what they sent. */
  readonly #retired: AzureUpstreamStats & { operations: Record<string, number> } = {
    messages: 0,
    readings: 0,
    billedUnits: 0,
    operations: { d2c: 0, c2d: 0, twinRead: 0, twinUpdate: 0, method: 0 },
  };
  /** The router's handler and the closed state; results are kept, if at all, by each leaf's link. */
  readonly #inbox: CommandInbox;
  #isUp = false;
  #hasWarnedCap = false;

  constructor(options: PerDeviceLinksOptions) {
    if (options.config.tls.certFile !== undefined) {
      // The hub never multiplexes X.509 identities (docs/clouds/azure-iot-hub.md#x509): one certificate is
      // one device.
      throw new FieldgateError(
        'FG_CONFIG_INVALID',
        'identity: perDevice works with keys, not a client certificate.',
      );
    }
    this.#config = options.config;
    this.#log = options.log;
    this.#protocol = options.protocol;
    this.#maxOpenLinks = options.maxOpenLinks;
    this.#createLink = options.createLink;
    this.#identities = new LeafIdentities(options.config);
    this.#held = new HeldLeaves(options.log, options.now ?? Date.now);
    this.limits = azureLimits(options.config);
    this.#inbox = new CommandInbox({
      log: options.log,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /** True after `connect` reached the hub, until a leaf's link could not reach it. */
  get isConnected(): boolean {
    return this.#isUp;
  }

  stats(): AzureUpstreamStats & { heldLeaves: HeldLeaf[]; openLinks: number } {
    const total = { ...this.#retired, operations: { ...this.#retired.operations } };
    for (const link of this.#links.values()) addStats(total, link.stats());
    const openLinks = [...this.#links.values()].filter((l) => l.isConnected).length;
    return { ...total, heldLeaves: this.#held.list(), openLinks };
  }

  onCommand(handler: CommandHandler): void {
    this.#inbox.onCommand(handler);
  }

  async connect(signal: AbortSignal): Promise<void> {
    this.#inbox.throwIfClosed();
    const configured = this.#identities.configuredLeaves();
    if (configured.length > this.#maxOpenLinks) this.#warnCap(configured.length);
    const probes = configured.length > 0 ? configured.slice(0, this.#maxOpenLinks) : [...this.#links.keys()];
    let failure: unknown;
    let hasReached = probes.length === 0;
    for (const leaf of probes) {
      if (signal.aborted) break;
      try {
        // A held leaf (no key, refused by the hub) still means the hub was there to ask or not needed.
        await this.#using(leaf, () => this.#linkFor(leaf, signal));
        hasReached = true;
      } catch (e) {
        failure = e;
      }
    }
    if (!hasReached) {
      if (isFieldgateError(failure)) throw failure;
      throw new FieldgateError('FG_UPSTREAM_OFFLINE', `IoT Hub over ${this.#protocol}: unreachable.`, {
        cause: failure,
      });
    }
    this.#isUp = true;
    this.#log.debug({ links: this.#links.size }, `Connected to IoT Hub over ${this.#protocol} (per device).`);
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    if (!this.#isUp) return { kind: 'retry', reason: 'offline' };
    const send = new PerDeviceSend(batch);
    const pending = send.leaves();
    // No more leaves at once than links may be open, so making room never has to close a busy one.
    const workers = Math.min(pending.length, this.#maxOpenLinks, MAX_PARALLEL_LEAVES);
    const work = async (): Promise<void> => {
      for (let leaf = pending.shift(); leaf !== undefined; leaf = pending.shift()) {
        await this.#sendLeaf(leaf, send, signal);
      }
    };
    await Promise.all(Array.from({ length: workers }, work));
    return send.result();
  }

  async publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    if (this.#inbox.refusesResult(command.id)) return;
    const leaf = this.#commandLeaf.get(command.id) ?? command.device;
    this.#commandLeaf.delete(command.id);
    if (leaf === undefined) {
      this.#log.debug({ commandId: command.id }, 'A result for no known leaf; not sent.');
      return;
    }
    await this.#using(leaf, async () => {
      const link =
        this.#links.get(leaf) ??
        (await this.#linkFor(leaf, new AbortController().signal).catch(() => undefined));
      if (link === undefined) {
        this.#log.debug({ commandId: command.id, leaf }, 'No link for the leaf; the result was not sent.');
        return;
      }
      await link.publishResult(command.device === undefined ? { ...command, device: leaf } : command, result);
    });
  }

  async close(): Promise<void> {
    this.#inbox.close();
    this.#isUp = false;
    await Promise.allSettled([...this.#opening.values()]);
    const links = [...this.#links.values()];
    this.#links.clear();
    await Promise.allSettled(links.map((link) => link.close()));
  }

  async #sendLeaf(leaf: string, send: PerDeviceSend, signal: AbortSignal): Promise<void> {
    await this.#using(leaf, async () => {
      let link: LeafLink | undefined;
      try {
        link = await this.#linkFor(leaf, signal);
      } catch (e) {
        // The hub itself is out of reach: let the forwarder back off and probe with `connect`.
        if (!signal.aborted) this.#isUp = false;
        send.fail(leaf, errorMessage(e));
        return;
      }
      if (link === undefined) return send.hold(leaf);
      const items = send.itemsOf(leaf);
      const result = await link.send(items, signal);
      switch (result.kind) {
        case 'ok':
          for (const item of items) send.ack(item.gseq);
          return;
        case 'reject':
          for (const item of items) send.reject(item.gseq, result.reason);
          return;
        case 'retry':
          return send.fail(leaf, result.reason);
        case 'partial':
          for (const gseq of result.acked) send.ack(gseq);
          for (const { gseq, reason } of result.rejected) send.reject(gseq, reason);
          if (result.acked.length + result.rejected.length < items.length) {
            send.fail(leaf, 'the hub did not acknowledge all of its readings');
          }
      }
    });
  }

  /**
   * The leaf's connected link, connecting it now if need be; undefined when the leaf is held (no identity,
   * or refused a short while ago). Rejects when the hub could not be reached.
   */
  #linkFor(leaf: string, signal: AbortSignal): Promise<LeafLink | undefined> {
    // A result arriving after close must not open a connection nobody would close again.
    if (this.#inbox.isClosed) return Promise.resolve(undefined);
    const link = this.#links.get(leaf);
    if (link?.isConnected === true) {
      this.#touch(leaf, link);
      return Promise.resolve(link);
    }
    // One connect per leaf at a time: a result and a send may want the same link together.
    let opening = this.#opening.get(leaf);
    if (opening === undefined) {
      opening = this.#connectLink(leaf, link, signal).finally(() => this.#opening.delete(leaf));
      this.#opening.set(leaf, opening);
    }
    return opening;
  }

  async #connectLink(
    leaf: string,
    existing: LeafLink | undefined,
    signal: AbortSignal,
  ): Promise<LeafLink | undefined> {
    if (this.#held.isHeld(leaf)) return undefined;
    const resolved = this.#identities.resolve(leaf);
    if (resolved.kind === 'none') {
      this.#held.hold(leaf, resolved.reason);
      return undefined;
    }
    const link = existing ?? this.#newLink(leaf, resolved.identity);
    try {
      await link.connect(signal);
      this.#inbox.throwIfClosed();
    } catch (e) {
      if (!isFieldgateError(e, 'FG_UPSTREAM_AUTH')) throw e;
      // Refused while the hub answered: this device is unknown, disabled or its key is wrong.
      this.#retire(leaf);
      const id = resolved.identity.deviceId;
      this.#held.hold(leaf, `the hub refused device ${id}: ${e.message}`, this.#config.refusedRetryS * 1000);
      return undefined;
    }
    this.#held.release(leaf);
    this.#touch(leaf, link);
    return link;
  }

  #newLink(leaf: string, identity: AzureIdentity): LeafLink {
    while (this.#links.size >= this.#maxOpenLinks) {
      const idle = [...this.#links.keys()].find((l) => !this.#inUse.has(l));
      if (idle === undefined) break;
      this.#warnCap(this.#links.size + 1);
      this.#log.debug({ leaf: idle }, 'Closing the least recently used leaf link to make room.');
      this.#retire(idle);
    }
    const link = this.#createLink(leaf, identity);
    link.onCommand((incoming) => this.#onCommand(leaf, incoming));
    this.#links.set(leaf, link);
    return link;
  }

  /** Close the leaf's link and forget it, keeping its counters. */
  #retire(leaf: string): void {
    const link = this.#links.get(leaf);
    if (link === undefined) return;
    this.#links.delete(leaf);
    addStats(this.#retired, link.stats());
    void link.close().catch((e: unknown) => this.#log.debug({ err: e, leaf }, 'Closing a leaf link failed.'));
  }

  /** Mark the link most recently used (the map keeps insertion order). */
  #touch(leaf: string, link: LeafLink): void {
    this.#links.delete(leaf);
    this.#links.set(leaf, link);
  }

  async #using<T>(leaf: string, work: () => Promise<T>): Promise<T> {
    this.#inUse.set(leaf, (this.#inUse.get(leaf) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const users = (this.#inUse.get(leaf) ?? 1) - 1;
      if (users === 0) this.#inUse.delete(leaf);
      else this.#inUse.set(leaf, users);
    }
  }

  #warnCap(leaves: number): void {
    if (this.#hasWarnedCap) return;
    this.#hasWarnedCap = true;
    this.#log.warn(
      { maxLeafConnections: this.#maxOpenLinks, leaves },
      `More leaves than maxLeafConnections need a connection over ${this.#protocol}: the least recently used ` +
        'one is closed each time another is needed, and its C2D waits in the hub until it connects again. ' +
        'Raise maxLeafConnections or use protocol: amqp (one connection for all leaves).',
    );
  }

  /** A command that came on the leaf's link: it is for that leaf, whatever its body says. */
  #onCommand(leaf: string, incoming: IncomingCommand): void {
    const id = incomingId(incoming);
    let routed: IncomingCommand = incoming;
    if (incoming.kind === 'command' && incoming.command.device !== leaf) {
      const reason = `sent to leaf ${leaf}'s hub device but names device ${incoming.command.device}`;
      routed = { kind: 'invalid', id, reason, device: leaf };
    } else if (incoming.kind === 'invalid' && incoming.device !== leaf) {
      routed = { ...incoming, device: leaf };
    }
    this.#commandLeaf.set(id, leaf);
    if (this.#commandLeaf.size > COMMAND_MEMORY) {
      this.#commandLeaf.delete(this.#commandLeaf.keys().next().value!);
    }
    this.#inbox.dispatch(routed, { leaf });
  }
}

/** Add a leaf link's counters (each leaf's connection meters its own operations) to `total`. */
function addStats(
  total: AzureUpstreamStats & { operations: Record<string, number> },
  link: AzureUpstreamStats,
): void {
  total.messages += link.messages;
  total.readings += link.readings;
  total.billedUnits += link.billedUnits;
  for (const [name, count] of Object.entries(link.operations ?? {})) {
    total.operations[name] = (total.operations[name] ?? 0) + count;
  }
}
