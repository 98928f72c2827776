import type { CommandResult } from '../model.js';
import type { CommandStore, StoredCommand } from './command-store.js';
import { expired, rejected, shownId } from './results.js';
import { idProblem } from './validate.js';

/** The bounds on what the router holds; the `commands` config section. */
export interface HeldLimits {
  maxPerDevice: number;
  maxHeld: number;
  maxIdLength: number;
  maxArgsBytes: number;
}

/** What a start found in the store. */
export interface LoadedHeld {
  /** The commands to hold again, in arrival (`seq`) order: within every bound, not yet expired. */
  held: StoredCommand[];
  /** The highest `seq` of any readable entry: the entries `answerLeftovers` may answer have one ≤ it. */
  maxSeq: number;
  /** Readable entries not held: they are answered by `answerLeftovers` after the start. */
  leftovers: number;
  /** Entries that cannot be read: skipped, left in the store, never answered (nothing says to whom). */
  damaged: number;
  /** Why the first damaged entry is damaged, for the one WARN of a start. */
  firstDamage?: { key: string; reason: string };
}

/**
 * Why a stored command may not be held by this gateway, or undefined when it may. An older version, or a
 * larger limit since lowered, may have stored what the intake now refuses.
 */
export function storedProblem(stored: StoredCommand, limits: HeldLimits): string | undefined {
  const { id, args } = stored.command;
  const problem = idProblem(id, limits);
  if (problem !== undefined) return problem;
  const argsBytes = Buffer.byteLength(JSON.stringify(args), 'utf8');
  if (argsBytes > limits.maxArgsBytes)
    return `args are ${argsBytes} bytes; the limit is ${limits.maxArgsBytes}`;
  return undefined;
}

/**
 * Choose the stored commands to hold again, reading the store once, one entry at a time, with memory
 * bounded by the limits rather than by the store's size: per device the earliest `maxPerDevice`, over all
 * the earliest `maxHeld`, skipping the oversized and the expired (those are `leftovers`, answered later).
 */
export async function selectHeld(store: CommandStore, limits: HeldLimits, now: number): Promise<LoadedHeld> {
  const perDevice = new Map<string, number>();
  let candidates: StoredCommand[] = [];
  const loaded: LoadedHeld = { held: [], maxSeq: 0, leftovers: 0, damaged: 0 };
  const trim = (): void => {
    candidates.sort((a, b) => a.seq - b.seq);
    loaded.leftovers += Math.max(0, candidates.length - limits.maxHeld);
    candidates = candidates.slice(0, limits.maxHeld);
  };
  for await (const entry of store.scan()) {
    if (!('stored' in entry)) {
      loaded.damaged += 1;
      loaded.firstDamage ??= { key: entry.key.slice(0, 200), reason: entry.damaged };
      continue;
    }
    const { stored } = entry;
    loaded.maxSeq = Math.max(loaded.maxSeq, stored.seq);
    const { device, expiresAt } = stored.command;
    // Each device's entries come in seq order, so the first `maxPerDevice` seen are its earliest.
    const count = perDevice.get(device) ?? 0;
    if (expiresAt <= now || count >= limits.maxPerDevice || storedProblem(stored, limits) !== undefined) {
      loaded.leftovers += 1;
      continue;
    }
    perDevice.set(device, count + 1);
    candidates.push(stored);
    // Trimmed in rounds, so memory stays within twice the bound whatever the store holds.
    if (candidates.length >= 2 * limits.maxHeld) trim();
  }
  trim();
  loaded.held = candidates;
  return loaded;
}

/** The one result of a stored command that `selectHeld` did not hold. */
export function leftoverResult(stored: StoredCommand, limits: HeldLimits, now: number): CommandResult {
  const { id, expiresAt } = stored.command;
  const problem = storedProblem(stored, limits);
  if (problem !== undefined) {
    return rejected(shownId(id, limits.maxIdLength), `held since before a restart, but ${problem}`);
  }
  if (expiresAt <= now) return expired(id, 'expired while waiting for the device');
  return rejected(
    id,
    `the gateway held more commands at its start than commands.maxPerDevice (${limits.maxPerDevice}) ` +
      `and commands.maxHeld (${limits.maxHeld}) allow; the earliest were kept`,
  );
}

/**
 * Answer every stored command that a start did not hold: those with `seq` ≤ `maxSeq` (older than the
 * start) that `isHeld` does not claim. Reads the store again one entry at a time and awaits each `answer`
 * (which publishes, then deletes), so memory stays flat however many there are. Stops early when `signal`
 * aborts; what is left stays stored for the next start. Returns how many were answered.
 */
export async function answerLeftovers(options: {
  store: CommandStore;
  maxSeq: number;
  isHeld: (seq: number) => boolean;
  answer: (stored: StoredCommand) => Promise<void>;
  signal: AbortSignal;
}): Promise<number> {
  let answered = 0;
  for await (const entry of options.store.scan()) {
    if (options.signal.aborted) break;
    if (!('stored' in entry)) continue;
    const { seq } = entry.stored;
    if (seq > options.maxSeq || options.isHeld(seq)) continue;
    await options.answer(entry.stored);
    answered += 1;
  }
  return answered;
}

/**
 * Resolves true once `isReady()` holds (looking every `pollMs`), or false as soon as `signal` aborts.
 * Timers are unref'd: waiting must not keep a process alive.
 */
export async function readyOrAborted(
  isReady: () => boolean,
  signal: AbortSignal,
  pollMs: number,
): Promise<boolean> {
  while (!isReady()) {
    if (signal.aborted) return false;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, pollMs);
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
    });
  }
  return !signal.aborted;
}
