import { access } from 'node:fs/promises';

/**
 * Polls the coordinator's serial device node. herdsman's ember, zstack, zboss, zigate and zoh drivers
 * report a lost serial link as `disconnected`; the deCONZ driver (ConBee, RaspBee) reconnects on its own and
 * never does. So the serial device node itself is watched: a `/dev/…` path that disappears (the stick was
 * pulled) is a disconnect on every coordinator type. A port that is not a path (`tcp://…`) is not watched.
 */
export class PortPresence {
  readonly #port: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Whether the node existed when the coordinator opened (only then can it disappear). */
  #isSeen = false;

  constructor(port: string | undefined) {
    this.#port = port;
  }

  /** Notes whether the device node exists now; called each time the coordinator opened. */
  async opened(): Promise<void> {
    const port = this.#watchedPort();
    this.#isSeen =
      port !== undefined &&
      (await access(port).then(
        () => true,
        () => false,
      ));
  }

  /**
   * Checks every `intervalMs` while `isWatched()` (the coordinator is open and not stopping): `onGone` with
   * why, once per check, when the node that existed at open has disappeared.
   */
  watch(intervalMs: number, isWatched: () => boolean, onGone: (why: string) => void): void {
    const port = this.#watchedPort();
    if (port === undefined) return;
    this.#timer = setInterval(() => {
      if (!isWatched() || !this.#isSeen) return;
      access(port).catch(() => onGone(`${port} is gone`));
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #watchedPort(): string | undefined {
    return this.#port !== undefined && this.#port.startsWith('/') ? this.#port : undefined;
  }
}
