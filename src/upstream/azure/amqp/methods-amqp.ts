import { randomUUID } from 'node:crypto';
import type { Connection, EventContext, Message, Receiver, Sender } from 'rhea';
import type { CommandResult } from '../../../model.js';
import { incomingId, type IncomingCommand } from '../../../commands/incoming.js';
import {
  API_VERSION_PROPERTY,
  CHANNEL_CORRELATION_ID,
  channelAddress,
  dataSection,
  METHOD_NAME_PROPERTY,
  METHOD_STATUS_PROPERTY,
} from '../protocol/amqp-device-channels.js';
import { linkOpened } from './amqp-link.js';
import { bodyOf } from '../protocol/amqp-message.js';
import { methodStatusFor, parseMethodRequest, resultBody, type ParseOptions } from '../commands.js';
import { API_VERSION } from '../protocol/topics.js';

export interface AmqpMethodsOptions {
  /** How method requests become commands (route, size limit, clock, ids). */
  parse: Omit<ParseOptions, 'now'> & { timeoutMs: number; now: () => number };
  /** Hands a command on (`CommandInbox.dispatch`); false when nobody took it (the call is answered 503). */
  take: (incoming: IncomingCommand) => boolean;
}

/** Method calls awaiting their result; the hub gives up on them long before this many pile up. */
const PENDING_LIMIT = 1000;

/**
 * Direct methods over IoT Hub's AMQP methods link pair on an open, authorized connection
 * (docs/clouds/azure-iot-hub.md#amqp-links), mapped as over MQTT: the method name is the command name, its
 * payload `{device, args}`; the
 * answer carries the request's correlation id, the status from the result (`methodStatusFor`) and the
 * result body. The answer goes on the link the call came in on; if that connection is gone, nobody
 * waits for it any more.
 */
export class AmqpMethodsChannel {
  readonly #sender: Sender;
  readonly #receiver: Receiver;
  readonly #options: AmqpMethodsOptions;
  /** Command id → the request's correlation id, as received (string or AMQP uuid). */
  readonly #pending = new Map<string, unknown>();

  private constructor(
    connection: Connection,
    identity: { deviceId: string; moduleId?: string },
    options: AmqpMethodsOptions,
  ) {
    this.#options = options;
    const address = channelAddress(identity.deviceId, 'methods', identity.moduleId);
    const properties = {
      [CHANNEL_CORRELATION_ID]: `methods:${randomUUID()}`,
      [API_VERSION_PROPERTY]: API_VERSION,
    };
    this.#receiver = connection.open_receiver({ source: { address }, properties, autoaccept: true });
    this.#sender = connection.open_sender({ target: { address }, properties, snd_settle_mode: 1 });
    this.#receiver.on('message', (context: EventContext) => this.#onRequest(context.message!));
  }

  static async open(
    connection: Connection,
    identity: { deviceId: string; moduleId?: string },
    timeoutMs: number,
    options: AmqpMethodsOptions,
  ): Promise<AmqpMethodsChannel> {
    const channel = new AmqpMethodsChannel(connection, identity, options);
    await Promise.all([linkOpened(channel.#sender, timeoutMs), linkOpened(channel.#receiver, timeoutMs)]);
    return channel;
  }

  /** Answer the method call that became this command; false when the command did not come from one. */
  answer(command: { id: string; device?: string }, result: CommandResult): boolean {
    if (!this.#pending.has(command.id)) return false;
    const correlationId = this.#pending.get(command.id);
    this.#pending.delete(command.id);
    this.#reply(correlationId, methodStatusFor(result.status), resultBody(command, result));
    return true;
  }

  #onRequest(message: Message): void {
    const properties = (message.application_properties ?? {}) as Record<string, unknown>;
    const name = properties[METHOD_NAME_PROPERTY];
    const method = typeof name === 'string' ? name : '';
    const { parse } = this.#options;
    const incoming = parseMethodRequest(method, bodyOf(message), { ...parse, now: parse.now() });
    const id = incomingId(incoming);
    this.#pending.set(id, message.correlation_id);
    if (this.#pending.size > PENDING_LIMIT) this.#pending.delete(this.#pending.keys().next().value!);
    // Nobody took it (not yet taking commands, or closing): the caller gets an answer now, not a timeout.
    if (this.#options.take(incoming) || !this.#pending.delete(id)) return;
    this.#reply(message.correlation_id, 503, Buffer.from('{"detail":"the gateway is not taking commands"}'));
  }

  #reply(correlationId: unknown, status: number, body: Buffer): void {
    this.#sender.send({
      ...(correlationId === undefined ? {} : { correlation_id: correlationId as string }),
      application_properties: { [METHOD_STATUS_PROPERTY]: status },
      body: dataSection(body),
    });
  }
}
