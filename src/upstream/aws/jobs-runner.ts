import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import type { CommandResult } from '../../model.js';
import type { IncomingCommand } from '../../commands/incoming.js';
import { jobOutcome, parseJobDocument, refusedOutcome, type JobOutcome } from './protocol/job-document.js';

/** Command ids of jobs start with this, so their results can be told from other commands'. */
const JOB_COMMAND_PREFIX = 'aws-job:';
/** Results of job commands that arrived before their execution was handed out, kept this many. */
const MAX_UNCLAIMED = 16;
/** Rejections after which retrying the update is pointless: the execution moved on without us. */
const EXECUTION_GONE = new Set(['InvalidStateTransition', 'VersionMismatch', 'ResourceNotFound']);

export interface JobsRunnerOptions {
  thingName: string;
  route: string;
  log: Logger;
  now: () => number;
  /** One QoS 1 publish of a Jobs request; false when it was not acknowledged (offline, timeout). */
  publish: (topic: string, body: object) => Promise<boolean>;
  /** Hand a command to the command router (the upstream's `onCommand` handler). */
  submit: (incoming: IncomingCommand) => void;
  /** How long to wait for the service's answer to an update before keeping it for the next connection. */
  answerTimeoutMs: number;
}

/** The execution being run: at most one at a time. */
interface Current {
  jobId: string;
  executionNumber: number;
  /** The version start-next handed out; the update names it as `expectedVersion`. */
  versionNumber: number;
  commandId: string;
  /** Set once the command has a result: the update still to be accepted by the service. */
  outcome?: JobOutcome;
}

type Answer = { accepted: true } | { accepted: false; code: string; status?: string } | 'no answer';

/**
 * Runs AWS IoT Jobs addressed to the gateway thing over the Jobs MQTT API
 * (docs/clouds/aws-iot-core.md#commands-request-topics-jobs-shadows), one
 * execution at a time: on connect and on `notify-next` it asks `start-next`; a `fieldgate.command` job
 * document becomes a leaf command handed to the command router with the id `aws-job:{jobId}:{execution}`;
 * the command's one result becomes the execution's terminal status (see `jobOutcome`), sent with the
 * version start-next handed out as `expectedVersion`. A malformed document or unknown operation is
 * rejected without running anything.
 *
 * Reconnects: an IN_PROGRESS execution handed out again is recognised by its command id and not
 * resubmitted; a result that could not be reported is kept and sent first on the next connection. After
 * a restart the execution is resubmitted under the same id: the command router still holds its persisted
 * copy and ignores the duplicate, so the command runs at most once more than the router itself would
 * (it re-runs a command interrupted by a crash). The one gap: a crash after the command finished but
 * before the service accepted the update while offline runs the command again after restart.
 */
export class JobsRunner {
  readonly #options: JobsRunnerOptions;
  readonly #log: Logger;
  readonly #prefix: string;
  readonly #waiters = new Map<string, (answer: Answer) => void>();
  /**
   * Results of job commands whose execution is not (yet) ours: after a restart the router may finish a
   * command it held before start-next hands its execution to us, and will not publish that result again.
   */
  readonly #unclaimed = new Map<string, CommandResult>();
  #current: Current | undefined;
  #isConnected = false;
  #isStarting = false;

  constructor(options: JobsRunnerOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'aws-jobs' });
    this.#prefix = `$aws/things/${options.thingName}/jobs/`;
  }

  /** What to subscribe to on every connection. */
  filters(): string[] {
    return [`${this.#prefix}notify-next`, `${this.#prefix}start-next/+`, `${this.#prefix}+/update/+`];
  }

  /** The connection is up (and subscribed): report a kept result, else ask for the next job. */
  connected(): void {
    this.#isConnected = true;
    const current = this.#current;
    if (current?.outcome !== undefined) void this.#report(current);
    else this.#startNext();
  }

  disconnected(): void {
    this.#isConnected = false;
    this.#isStarting = false;
    for (const resolve of this.#waiters.values()) resolve('no answer');
    this.#waiters.clear();
  }

  /** A message on a Jobs topic: handled (true), or not ours (false). */
  handleMessage(topic: string, payload: Buffer): boolean {
    if (!topic.startsWith(this.#prefix)) return false;
    const rest = topic.slice(this.#prefix.length);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.#log.warn({ topic }, 'A Jobs message is not JSON; ignored.');
      return true;
    }
    if (rest === 'notify-next') {
      if (body.execution !== undefined && this.#current === undefined) this.#startNext();
    } else if (rest === 'start-next/accepted' || rest === 'start-next/rejected') {
      this.#isStarting = false;
      if (rest === 'start-next/rejected') {
        this.#log.warn({ code: body.code, message: body.message }, 'IoT Jobs refused start-next.');
      } else if (typeof body.execution === 'object' && body.execution !== null) {
        this.#begin(body.execution as Record<string, unknown>);
      }
    } else if (/\/update\/(accepted|rejected)$/.test(rest) && typeof body.clientToken === 'string') {
      const state = body.executionState as { status?: unknown } | undefined;
      this.#waiters.get(body.clientToken)?.(
        rest.endsWith('/accepted')
          ? { accepted: true }
          : {
              accepted: false,
              code: String(body.code),
              ...(typeof state?.status === 'string' ? { status: state.status } : {}),
            },
      );
    }
    return true;
  }

  /**
   * The result of a command. For a job's command, resolves true once the service accepted the
   * execution's new status or it was kept for the next connection; false for other commands.
   */
  async report(commandId: string, result: CommandResult): Promise<boolean> {
    if (!commandId.startsWith(JOB_COMMAND_PREFIX)) return false;
    const current = this.#current;
    if (current?.commandId !== commandId) {
      this.#log.debug({ commandId, status: result.status }, 'Result of a job not (yet) running; kept.');
      this.#unclaimed.set(commandId, result);
      if (this.#unclaimed.size > MAX_UNCLAIMED) this.#unclaimed.delete(this.#unclaimed.keys().next().value!);
      return true;
    }
    current.outcome = jobOutcome(result);
    await this.#report(current);
    return true;
  }

  close(): void {
    this.disconnected();
  }

  #startNext(): void {
    if (!this.#isConnected || this.#isStarting) return;
    this.#isStarting = true;
    void this.#options.publish(`${this.#prefix}start-next`, { clientToken: randomUUID() }).then((ok) => {
      if (!ok) this.#isStarting = false;
    });
  }

  #begin(execution: Record<string, unknown>): void {
    const { jobId, executionNumber, versionNumber } = execution;
    if (
      typeof jobId !== 'string' ||
      typeof executionNumber !== 'number' ||
      typeof versionNumber !== 'number'
    ) {
      this.#log.warn({ execution }, 'start-next returned an execution without ids; ignored.');
      return;
    }
    const commandId = `${JOB_COMMAND_PREFIX}${jobId}:${executionNumber}`;
    const running = this.#current;
    if (running?.commandId === commandId) {
      // Handed out again after a reconnect: the command is still with the router, or its result is kept.
      if (running.outcome !== undefined) void this.#report(running);
      return;
    }
    if (running !== undefined) {
      this.#log.warn({ jobId: running.jobId }, 'A job ended on the service side while its command ran.');
    }
    const current: Current = { jobId, executionNumber, versionNumber, commandId };
    this.#current = current;
    const early = this.#unclaimed.get(commandId);
    if (early !== undefined) {
      this.#unclaimed.delete(commandId);
      current.outcome = jobOutcome(early);
      void this.#report(current);
      return;
    }
    const parsed = parseJobDocument(execution.jobDocument);
    if ('reason' in parsed) {
      this.#log.warn({ jobId, reason: parsed.reason }, 'Rejected a job.');
      current.outcome = refusedOutcome(parsed.reason);
      void this.#report(current);
      return;
    }
    const { job } = parsed;
    this.#log.info(
      { jobId, device: job.device, name: job.name, resumed: execution.status === 'IN_PROGRESS' },
      'Running a job.',
    );
    this.#options.submit({
      kind: 'command',
      command: {
        id: commandId,
        device: job.device,
        name: job.name,
        args: job.args,
        origin: 'aws',
        route: this.#options.route,
        receivedAt: this.#options.now(),
        ...(job.expiresAt === undefined ? {} : { expiresAt: job.expiresAt }),
      },
    });
  }

  /** Send the execution's outcome and settle it by the service's answer. */
  async #report(current: Current): Promise<void> {
    const outcome = current.outcome!;
    const clientToken = randomUUID();
    const answer = new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => resolve('no answer'), this.#options.answerTimeoutMs);
      this.#waiters.set(clientToken, (a) => {
        clearTimeout(timer);
        this.#waiters.delete(clientToken);
        resolve(a);
      });
    });
    const body = { ...outcome, expectedVersion: current.versionNumber, clientToken };
    const sent =
      this.#isConnected && (await this.#options.publish(`${this.#prefix}${current.jobId}/update`, body));
    if (!sent) this.#waiters.get(clientToken)?.('no answer');
    const result = await answer;
    if (this.#current !== current) return;
    if (result === 'no answer') {
      this.#log.debug(
        { jobId: current.jobId },
        'No answer to a job update; sent again on the next connection.',
      );
      return;
    }
    // A repeated update after a lost answer is refused because the first one was taken: that is success.
    const isDone = result.accepted || result.status === outcome.status;
    if (!isDone && !EXECUTION_GONE.has(result.code)) {
      this.#log.warn(
        { jobId: current.jobId, code: result.code },
        'IoT Jobs refused an update; retried on reconnect.',
      );
      return;
    }
    if (!isDone) {
      this.#log.warn(
        { jobId: current.jobId, code: result.code, status: result.status },
        'The job execution ended on the service side (timed out or canceled); its result was dropped.',
      );
    } else {
      this.#log.info({ jobId: current.jobId, status: outcome.status }, 'Job finished.');
    }
    this.#current = undefined;
    this.#startNext();
  }
}
