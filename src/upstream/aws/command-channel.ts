import type { MqttClient } from 'mqtt';
import type { Logger } from '../../logger.js';
import type { CommandResult } from '../../model.js';
import { resultJson } from '../common/command-json.js';
import type { CommandInbox } from '../common/command-inbox.js';
import type { MqttMessage } from '../common/exchange-guard.js';
import { subscribeOrWarn } from './subscribe.js';
import { parseCommandRequest } from './commands.js';
import type { TopicTemplate } from './protocol/topics.js';

export interface CommandChannelOptions {
  /** `cmd/fieldgate/{gateway}/{device}/req`; must contain `{device}`. */
  request: TopicTemplate;
  /** `cmd/fieldgate/{gateway}/{device}/res`. */
  response: TopicTemplate;
  /** Template variables other than `device` (gateway, route). */
  vars: Record<string, string>;
  /** The thing name: the `{device}` of responses to commands without a device. */
  thingName: string;
  route: string;
  /** Command requests larger than this are answered `rejected` unparsed. */
  maxCommandBytes: number;
  ackTimeoutMs: number;
  log: Logger;
  now: () => number;
  /** One QoS 1 response publish on the live connection (already paced); false when it did not get through. */
  publish: (topic: string, payload: Buffer) => Promise<boolean>;
  /** The connector's inbox: the router's handler, the responses kept while offline, the closed state. */
  inbox: CommandInbox<MqttMessage>;
}

/**
 * Command requests and responses over the gateway's MQTT connection: the `…/req` subscription, parsing a
 * request for the inbox to dispatch, and one response per command on `…/res`. Responses produced while
 * offline wait in the inbox's outbox (oldest dropped beyond 100) and go out first on the next connection.
 */
export class CommandChannel {
  readonly #options: CommandChannelOptions;

  constructor(options: CommandChannelOptions) {
    this.#options = options;
  }

  /** Subscribe to command requests. A refusal (SUBACK 0x80) is a WARN: telemetry still flows. */
  subscribe(client: MqttClient, signal: AbortSignal): Promise<void> {
    const filter = this.#options.request.filter(this.#options.vars, ['device']);
    const { ackTimeoutMs, log } = this.#options;
    return subscribeOrWarn(client, [filter], { what: 'command', signal, ackTimeoutMs, log });
  }

  /** A message on a command request topic becomes a command (or an `invalid` one); false for other topics. */
  handleMessage(topic: string, payload: Buffer, oversizeBytes?: number): boolean {
    const device = this.#options.request.extract(topic, this.#options.vars, 'device');
    if (device === undefined) return false;
    const incoming = parseCommandRequest(payload, {
      device,
      maxBytes: this.#options.maxCommandBytes,
      now: this.#options.now(),
      route: this.#options.route,
      ...(oversizeBytes === undefined ? {} : { oversizeBytes }),
    });
    this.#options.inbox.dispatch(incoming, { topic });
    return true;
  }

  /** Publish the command's one response, or keep it for the next connection. */
  async respond(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    const topic = this.#options.response.expand({
      ...this.#options.vars,
      device: command.device ?? this.#options.thingName,
    });
    const payload = resultJson(command, result, { ts: this.#options.now() });
    const message = { topic, payload };
    await this.#options.inbox.publish(command.id, message, (m) => this.#options.publish(m.topic, m.payload));
  }

  /** Send the responses kept while offline, oldest first (a new connection is up). */
  flush(): Promise<void> {
    return this.#options.inbox.flush((m) => this.#options.publish(m.topic, m.payload));
  }
}
