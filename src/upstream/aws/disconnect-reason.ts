import type { ConnectionEnd } from './mqtt-connection.js';

/** MQTT 5 DISCONNECT reason "Session taken over": another connection with our client id (MQTT 5 §3.14.2.1). */
export const SESSION_TAKEN_OVER = 0x8e;

/** Reason codes a server may send in an MQTT 5 DISCONNECT (§3.14.2.1), by name for the log. */
const SERVER_DISCONNECT_REASONS: Readonly<Record<number, string>> = {
  0x00: 'normal disconnection',
  0x80: 'unspecified error',
  0x81: 'malformed packet',
  0x82: 'protocol error',
  0x83: 'implementation specific error',
  0x87: 'not authorized',
  0x89: 'server busy',
  0x8b: 'server shutting down',
  0x8d: 'keep alive timeout',
  0x8e: 'session taken over',
  0x8f: 'topic filter invalid',
  0x90: 'topic name invalid',
  0x93: 'receive maximum exceeded',
  0x94: 'topic alias invalid',
  0x95: 'packet too large',
  0x96: 'message rate too high',
  0x97: 'quota exceeded',
  0x98: 'administrative action',
  0x99: 'payload format invalid',
  0x9a: 'retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'use another server',
  0x9d: 'server moved',
  0x9e: 'shared subscriptions not supported',
  0x9f: 'connection rate exceeded',
  0xa0: 'maximum connect time',
  0xa1: 'subscription identifiers not supported',
  0xa2: 'wildcard subscriptions not supported',
};

/** `0x8E session taken over`, or `0xNN unknown` for a code outside the specification. */
export function describeDisconnectReason(code: number): string {
  const hex = `0x${code.toString(16).padStart(2, '0').toUpperCase()}`;
  return `${hex} ${SERVER_DISCONNECT_REASONS[code] ?? 'unknown'}`;
}

/**
 * Whether another client took our client id over. Exact when the service said why (an MQTT 5 DISCONNECT:
 * only 0x8E is a takeover). Without a reason (MQTT 3.1.1, or a broker that just closes — Mosquitto 2.0
 * does on takeover) any close of a healthy connection by the peer may be one, and is treated as one: the
 * longer backoff costs little, a reconnect storm between two gateways costs the connection.
 */
export function isTakeover(end: ConnectionEnd): boolean {
  if (end.disconnect !== undefined) return end.disconnect.reasonCode === SESSION_TAKEN_OVER;
  return end.isPeerClose;
}
