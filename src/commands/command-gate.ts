/**
 * Lets a connector refuse a command before it reads it, so that a flood costs a header check rather than a
 * parse. The route's command intake implements it (`src/commands/intake-limiter.ts`).
 */
export interface CommandGate {
  /**
   * Called once per inbound command message, as soon as it is known to be one and before its body is read
   * (synchronously, from the socket's data handler). `true`: read it and hand it to `onCommand` as usual.
   * `false`: it has been counted as refused; drop it unread (acknowledging it as the protocol requires).
   */
  admitUnread(): boolean;
}
