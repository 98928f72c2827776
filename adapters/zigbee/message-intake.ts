import type { Events } from 'zigbee-herdsman';
import type { AdapterContext } from '../adapter.js';
import { DropCounts } from '../drop-counts.js';
import { errorMessage } from '../../src/errors.js';
import { convertIncoming, type ZhcModule } from './converters.js';
import { buildReading, normalizeConverted } from './readings.js';
import type { ZigbeeDevice } from './zigbee-device.js';

/** What the intake needs from the adapter that owns the devices. */
export interface MessageIntakeDeps {
  ctx: AdapterContext;
  /** The converters, loaded on first use. */
  zhc: () => Promise<ZhcModule>;
  /** The tracked device with this IEEE address, if any: frames of others are ignored. */
  deviceOf: (ieeeAddr: string) => ZigbeeDevice | undefined;
  /** True once the adapter is stopping: frames still arriving are ignored. */
  isStopping: () => boolean;
  /** Bindings and reporting for a device that is listening now (retried here after a failed configure). */
  configure: (device: ZigbeeDevice) => Promise<void>;
}

/**
 * The Zigbee message path: each frame herdsman delivers goes through the converters and becomes at most one
 * reading, emitted to the gateway. Frames are handled one at a time, in arrival order, so readings keep the
 * order the devices sent them in; a frame that yields nothing usable is counted by reason
 * (`droppedFrames`), never thrown.
 */
export class MessageIntake {
  readonly #deps: MessageIntakeDeps;
  /** Frames dropped by reason: `unparsed` (herdsman could not read the ZCL), `converterError`. */
  readonly #dropped = new DropCounts<'unparsed' | 'converterError'>();
  #chain: Promise<void> = Promise.resolve();

  constructor(deps: MessageIntakeDeps) {
    this.#deps = deps;
  }

  /** Queue a frame behind every frame before it. */
  receive(message: Events.MessagePayload): void {
    this.#enqueue(() => this.#onMessage(message));
  }

  /** Resolves once the frames queued so far are handled. */
  idle(): Promise<void> {
    return this.#chain;
  }

  /** Frames dropped since start, by reason (see `Adapter.droppedFrames`). */
  droppedFrames(): Record<string, number> {
    return this.#dropped.snapshot();
  }

  /** Runs `task` after every frame before it; a failure is logged and never stalls the frames after it. */
  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((e: unknown) => {
      this.#deps.ctx.log.warn({ err: errorMessage(e) }, 'Handling a Zigbee frame failed.');
    });
  }

  async #onMessage(message: Events.MessagePayload): Promise<void> {
    const { ctx } = this.#deps;
    const device = this.#deps.deviceOf(message.device.ieeeAddr);
    if (device === undefined || this.#deps.isStopping()) return;
    try {
      const zhc = await this.#deps.zhc();
      // A converter may publish more values later (a debounce, a follow-up read): they queue like a frame.
      const publishLater = (later: Record<string, unknown>): void =>
        this.#enqueue(() => this.#emitValues(device, later, message.linkquality));
      const converted = await convertIncoming(zhc, device, message, publishLater);
      if (Object.keys(converted).length === 0) {
        if (message.type === 'raw') {
          this.#dropped.count('unparsed');
          ctx.log.debug(
            { device: device.id, cluster: message.cluster, hex: message.meta.rawData.toString('hex') },
            'Dropped a frame that could not be parsed.',
          );
        }
        return;
      }
      await this.#emitValues(device, converted, message.linkquality);
    } catch (e) {
      this.#dropped.count('converterError');
      ctx.log.warn(
        { device: device.id, cluster: message.cluster, type: message.type, err: errorMessage(e) },
        'Dropped a frame the converters could not read.',
      );
    }
    // A device whose configure failed at join (asleep too soon, busy) gets another try while it listens.
    if (device.isAwake(ctx.now())) void this.#deps.configure(device);
  }

  async #emitValues(
    device: ZigbeeDevice,
    converted: Record<string, unknown>,
    linkQuality: number,
  ): Promise<void> {
    const values = normalizeConverted(converted);
    if (Object.keys(values).length === 0) return;
    const reading = buildReading({
      device: device.id,
      ts: this.#deps.ctx.now(),
      values,
      exposedUnits: device.exposedUnits,
      linkQuality,
    });
    await this.#deps.ctx.emit([reading]);
  }
}
