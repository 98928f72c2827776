import picomatch from 'picomatch';
import { FieldgateError, errorMessage } from '../errors.js';
import { BoundedStream } from './bounded-stream.js';
import { readJson, startStream } from './http.js';
import type { Route } from './route.js';

/** Zigbee2MQTT caps permit-join at 254 s, the longest window the Zigbee spec's 0xFE allows; so do we. */
const MAX_PAIR_SECONDS = 254;

/**
 * A `tail` client may fall this far behind before its readings are dropped (counted, and announced to it when
 * it catches up): enough for a terminal that pauses to redraw, small enough that paused clients cost nothing.
 */
export const TAIL_MAX_PENDING_BYTES = 1024 * 1024;
/** A `tail` client that takes nothing for this long after falling behind is cut off. */
export const TAIL_MAX_STALL_MS = 30_000;

/** picomatch throws on an empty or over-long glob: that is the caller's mistake, not ours. */
function deviceMatcher(glob: string | null): (device: string) => boolean {
  if (glob === null) return () => true;
  try {
    return picomatch(glob);
  } catch (e) {
    throw new FieldgateError('FG_USAGE', `bad device glob: ${errorMessage(e)}`, { cause: e });
  }
}

/** Long-lived NDJSON streams: live readings (`tail`) and a pairing window (`pair`). */
export const streamRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/v1\/tail$/,
    handle: ({ runtime, res, url }) => {
      const device = url.searchParams.get('device');
      // A device's name (`devices rename`) selects that device; anything else is a glob over ids.
      const named = device === null ? undefined : runtime.devices.resolve(device);
      const matches = named === undefined ? deviceMatcher(device) : (id: string) => id === named;
      startStream(res);
      const hub = runtime.tail;
      const stream = new BoundedStream(res, {
        maxPendingBytes: TAIL_MAX_PENDING_BYTES,
        maxStallMs: TAIL_MAX_STALL_MS,
        onDropped: (count) => hub.countDropped(count),
        onCut: () => hub.countCut(),
      });
      const unsubscribe = hub.subscribe((readings) => {
        for (const reading of readings) if (matches(reading.device)) stream.send(reading);
      });
      res.on('close', () => {
        unsubscribe();
        stream.close();
      });
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/pair$/,
    handle: async ({ runtime, req, res, log }) => {
      const { adapter, seconds, pin, dsk } = await readJson(req);
      if (typeof adapter !== 'string') throw new FieldgateError('FG_USAGE', 'adapter is required');
      if (
        typeof seconds !== 'number' ||
        !Number.isInteger(seconds) ||
        seconds < 1 ||
        seconds > MAX_PAIR_SECONDS
      )
        throw new FieldgateError('FG_USAGE', `seconds must be an integer from 1 to ${MAX_PAIR_SECONDS}`);
      const instance = runtime.adapterOf(adapter);
      if (instance === undefined) throw new FieldgateError('FG_NOT_FOUND', `no running adapter ${adapter}`);
      if (instance.permitJoin === undefined)
        throw new FieldgateError('FG_USAGE', `adapter ${adapter} does not pair devices`);

      // S2 secrets for devices that ask for them (Z-Wave): passed through, never echoed or logged.
      const secrets = {
        ...(typeof pin === 'string' ? { pin } : {}),
        ...(typeof dsk === 'string' ? { dsk } : {}),
      };
      // Devices known before the window opened are not news: only joins, and what follows them, are shown.
      // Events that come while the window is being opened wait until the stream has started.
      const before = new Set(runtime.devices.list(adapter).map((d) => d.id));
      const joined = new Set<string>();
      /** Events held until the stream starts; undefined once they go straight out. */
      let early: unknown[] | undefined = [];
      const unsubscribe = runtime.onDevice((event, info) => {
        if (info.adapter !== adapter || before.has(info.id)) return;
        const kind = event === 'removed' ? 'left' : joined.has(info.id) ? 'updated' : 'joined';
        joined.add(info.id);
        if (early !== undefined) early.push({ event: kind, device: info });
        else stream({ event: kind, device: info });
      });
      const closeWindow = () =>
        // Best effort: the radio may have gone away since; nothing is left to close then.
        instance.permitJoin?.(0).catch(() => undefined);
      // The window opens before the stream starts: a radio that is missing or down is answered with its
      // error and code (FG_ADAPTER_UNAVAILABLE, 503), never with a 200 stream that then ends empty.
      try {
        await instance.permitJoin(seconds, secrets);
      } catch (e) {
        unsubscribe();
        throw e;
      }
      // The client may have hung up while the radio was opening: close the window it no longer watches.
      if (res.destroyed || req.socket.destroyed) {
        unsubscribe();
        void closeWindow();
        return;
      }
      const stream = startStream(res);
      stream({ event: 'open', adapter, seconds, until: Date.now() + seconds * 1000 });
      log.info({ adapter, seconds }, 'Pairing window opened.');
      for (const event of early) stream(event);
      early = undefined;
      let isClosed = false;
      const close = (reason: 'elapsed' | 'cancelled') => {
        if (isClosed) return;
        isClosed = true;
        clearTimeout(timer);
        unsubscribe();
        log.info({ adapter, reason, joined: joined.size }, 'Pairing window closed.');
        // A client that hangs up early closes the window too, so no radio is left open by accident.
        if (reason === 'cancelled') void closeWindow();
        else {
          stream({ event: 'closed' });
          res.end();
        }
      };
      const timer = setTimeout(() => close('elapsed'), seconds * 1000);
      req.on('close', () => close('cancelled'));
      res.on('close', () => close('cancelled'));
    },
  },
];
