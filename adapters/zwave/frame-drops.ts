/** Why zwave-js dropped a frame the stick delivered. */
export type ZwaveDropReason = 'invalidFrame' | 'undecodable' | 'invalidPayload' | 'unhandled';

/**
 * zwave-js drops a malformed frame inside its Driver and only says so in its log (15.29: `Driver.ts`
 * `handleDecodeError`, `persistCCValues`, Transport Service and partial-CC assembly); no event carries it.
 * These are the warnings it writes then, most specific first. A zwave-js upgrade that rewords them stops the
 * count, not the radio; the daemon and fuzz tests, which run the real driver, catch that.
 */
const DROP_WARNINGS: readonly [RegExp, ZwaveDropReason][] = [
  // Serial API frame with a bad checksum, cut short, or not a frame at all (the driver answers NAK).
  [/^Dropping message because it contains invalid data/, 'invalidFrame'],
  // A command class or Serial API command zwave-js has no parser for, or a datagram wrapping one.
  [
    /^Dropping (message|Transport Service datagram) because (it|the contained command) could not be deserialized/,
    'undecodable',
  ],
  // A command class whose payload is too short or out of range for its command.
  [/^Dropping message with invalid payload/, 'invalidPayload'],
  [/^dropping CC with invalid values/, 'invalidPayload'],
  [/^Could not assemble partial CCs because the payload is invalid/, 'invalidPayload'],
  // A well-framed request of a Serial API function nothing in the driver handles.
  [/^no handlers registered!/, 'unhandled'],
];

/**
 * The drop reason of one zwave-js log entry, or undefined when the entry is not about a dropped frame.
 * Frames dropped for reasons of state rather than content (driver not ready, no network keys yet, unknown
 * node) are not malformed and are not counted.
 */
export function frameDropReason(level: string, text: string): ZwaveDropReason | undefined {
  if (level !== 'warn') return undefined;
  for (const [pattern, reason] of DROP_WARNINGS) if (pattern.test(text)) return reason;
  return undefined;
}
