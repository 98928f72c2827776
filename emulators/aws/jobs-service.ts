import type { Aedes } from 'aedes';
import type { Logger } from '../../src/logger.js';
import {
  checkUpdate,
  executionState,
  executionSummary,
  executionView,
  isPending,
  nextPending,
  parseRequestBody,
  parseStatusDetails,
  parseStepTimeout,
  type ExecutionRecord,
  type JobsError,
} from './jobs-model.js';
import type { JsonObject } from './shadow-document.js';

/**
 * `$aws/things/{thing}/jobs/{rest}`: the Jobs MQTT API's request topics
 * (docs/clouds/aws-iot-core.md#commands-request-topics-jobs-shadows).
 */
const JOBS_TOPIC = /^\$aws\/things\/([^/]+)\/jobs\/(.+)$/;
/** Response and notification topics, which the service publishes and must not answer. */
const RESPONSE_TOPIC = /\/(accepted|rejected)$|^notify(-next)?$/;

export interface CreateJobOptions {
  /** Step timeout applied when the device starts the execution without naming one. */
  stepTimeoutMinutes?: number;
}

export interface JobsServiceOptions {
  aedes: Aedes;
  /**
   * Delivers a response to the requesting client even when it has not subscribed
   * (docs/clouds/aws-iot-core.md#commands-request-topics-jobs-shadows).
   */
  deliverTo: (clientId: string, topic: string, payload: Buffer) => void;
  log: Logger;
  now?: () => number;
  /** Length of a "minute" for step timeouts; tests shorten it. Default 60,000 ms. */
  minuteMs?: number;
}

/**
 * The IoT Jobs service of the emulated IoT Core
 * (docs/clouds/aws-iot-core.md#commands-request-topics-jobs-shadows): per thing, a queue of job
 * executions QUEUED → IN_PROGRESS → SUCCEEDED | FAILED | REJECTED | TIMED_OUT, served over the Jobs MQTT
 * API — `get`, `start-next`, `{jobId|$next}/get`, `{jobId}/update` (with `expectedVersion`) — answered on
 * `/accepted` or `/rejected` with the request's `clientToken`, and announced on `notify` (the pending list
 * changed) and `notify-next` (the next execution changed). A step timeout that passes while an execution
 * is IN_PROGRESS ends it TIMED_OUT.
 *
 * Responses reach the requester whether or not it subscribed, and every subscriber of the topic too.
 * The cloud side creates jobs with `createJob` (CreateJob for one target thing) and reads executions
 * with `execution`. Not emulated: job-level (total) timeouts, rollouts, cancellation, throttling.
 */
export class JobsService {
  readonly #aedes: Aedes;
  readonly #deliverTo: JobsServiceOptions['deliverTo'];
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #minuteMs: number;
  /** Executions per thing, in creation order. */
  readonly #things = new Map<string, ExecutionRecord[]>();
  readonly #timers = new Map<ExecutionRecord, NodeJS.Timeout>();

  constructor(options: JobsServiceOptions) {
    this.#aedes = options.aedes;
    this.#deliverTo = options.deliverTo;
    this.#log = options.log.child({ component: 'aws-jobs' });
    this.#now = options.now ?? Date.now;
    this.#minuteMs = options.minuteMs ?? 60_000;
    this.#aedes.on('publish', (packet, client) => {
      // Only device requests: the service's own responses (no client) must not loop back.
      if (client === null) return;
      const match = JOBS_TOPIC.exec(packet.topic);
      if (match === null || RESPONSE_TOPIC.test(match[2]!)) return;
      this.#serve(client.id, match[1]!, match[2]!, Buffer.from(packet.payload));
    });
  }

  /**
   * CreateJob targeting one thing: queue an execution of `jobId` with `document` for `thing`, and
   * announce it on `notify` (and `notify-next` when it is now the next one). Throws when the thing
   * already has an execution of that job id.
   */
  createJob(thing: string, jobId: string, document: JsonObject, options: CreateJobOptions = {}): void {
    const records = this.#records(thing);
    if (records.some((r) => r.jobId === jobId)) {
      throw new Error(`thing ${thing} already has an execution of job ${jobId}`);
    }
    const nowS = this.#seconds();
    this.#change(thing, () =>
      records.push({
        jobId,
        thingName: thing,
        jobDocument: document,
        status: 'QUEUED',
        statusDetails: {},
        queuedAt: nowS,
        lastUpdatedAt: nowS,
        versionNumber: 1,
        executionNumber: 1,
        ...(options.stepTimeoutMinutes === undefined
          ? {}
          : { defaultStepTimeoutMinutes: options.stepTimeoutMinutes }),
      }),
    );
  }

  /** DescribeJobExecution from the cloud side: a copy of the execution, or undefined. */
  execution(thing: string, jobId: string): ExecutionRecord | undefined {
    const record = this.#records(thing).find((r) => r.jobId === jobId);
    return record === undefined ? undefined : structuredClone(record);
  }

  /** Stop the step timers (on emulator shutdown). */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #serve(clientId: string, thing: string, operation: string, payload: Buffer): void {
    const base = `$aws/things/${thing}/jobs/${operation}`;
    const parsed = parseRequestBody(payload);
    const token =
      'body' in parsed && typeof parsed.body.clientToken === 'string'
        ? { clientToken: parsed.body.clientToken }
        : {};
    const outcome: { body: JsonObject } | { error: JobsError } =
      'error' in parsed ? parsed : this.#dispatch(thing, operation, parsed.body);
    const timestamp = this.#seconds();
    if ('error' in outcome) {
      this.#log.debug({ thing, operation, ...outcome.error }, 'Jobs request rejected.');
      this.#respond(clientId, `${base}/rejected`, { ...outcome.error, timestamp, ...token });
    } else {
      this.#respond(clientId, `${base}/accepted`, { ...outcome.body, timestamp, ...token });
    }
  }

  #dispatch(thing: string, operation: string, body: JsonObject): { body: JsonObject } | { error: JobsError } {
    if (operation === 'get') return this.#pendingList(thing);
    if (operation === 'start-next') return this.#startNext(thing, body);
    const [jobId, verb, ...rest] = operation.split('/');
    if (rest.length === 0 && jobId !== undefined && verb === 'get') return this.#describe(thing, jobId, body);
    if (rest.length === 0 && jobId !== undefined && jobId !== '$next' && verb === 'update') {
      return this.#update(thing, jobId, body);
    }
    return { error: { code: 'InvalidTopic', message: `No Jobs API at jobs/${operation}.` } };
  }

  #pendingList(thing: string): { body: JsonObject } {
    const records = this.#records(thing);
    return {
      body: {
        inProgressJobs: records.filter((r) => r.status === 'IN_PROGRESS').map(executionSummary),
        queuedJobs: records.filter((r) => r.status === 'QUEUED').map(executionSummary),
      },
    };
  }

  #startNext(thing: string, body: JsonObject): { body: JsonObject } | { error: JobsError } {
    const details = parseStatusDetails(body.statusDetails);
    if ('error' in details) return details;
    const step = parseStepTimeout(body.stepTimeoutInMinutes);
    if ('error' in step) return step;
    const next = nextPending(this.#records(thing));
    if (next === undefined) return { body: {} };
    // An execution already IN_PROGRESS is handed out again as it is: the device resumes it.
    if (next.status === 'QUEUED') {
      this.#change(thing, () => {
        const nowS = this.#seconds();
        next.status = 'IN_PROGRESS';
        next.startedAt = nowS;
        next.lastUpdatedAt = nowS;
        next.versionNumber += 1;
        if (details.details !== undefined) next.statusDetails = details.details;
        this.#armStepTimer(next, step.minutes ?? next.defaultStepTimeoutMinutes);
      });
    }
    return { body: { execution: executionView(next, true) } };
  }

  #describe(thing: string, jobId: string, body: JsonObject): { body: JsonObject } | { error: JobsError } {
    const records = this.#records(thing);
    const record = jobId === '$next' ? nextPending(records) : records.find((r) => r.jobId === jobId);
    if (record === undefined) {
      return jobId === '$next'
        ? { body: {} }
        : { error: { code: 'ResourceNotFound', message: `No execution of job ${jobId} for ${thing}.` } };
    }
    if (body.executionNumber !== undefined && body.executionNumber !== record.executionNumber) {
      return { error: { code: 'ResourceNotFound', message: 'No execution with that number.' } };
    }
    return { body: { execution: executionView(record, body.includeJobDocument !== false) } };
  }

  #update(thing: string, jobId: string, body: JsonObject): { body: JsonObject } | { error: JobsError } {
    const record = this.#records(thing).find((r) => r.jobId === jobId);
    if (record === undefined) {
      return { error: { code: 'ResourceNotFound', message: `No execution of job ${jobId} for ${thing}.` } };
    }
    const checked = checkUpdate(record, body);
    if ('error' in checked) return checked;
    const { request } = checked;
    this.#change(thing, () => {
      const nowS = this.#seconds();
      if (record.status === 'QUEUED' && request.status === 'IN_PROGRESS') record.startedAt = nowS;
      record.status = request.status;
      if (request.statusDetails !== undefined) record.statusDetails = request.statusDetails;
      record.lastUpdatedAt = nowS;
      record.versionNumber += 1;
      if (!isPending(record)) this.#clearStepTimer(record);
      else if (request.stepTimeoutInMinutes !== undefined) {
        this.#armStepTimer(record, request.stepTimeoutInMinutes);
      }
    });
    return {
      body: {
        ...(request.includeJobExecutionState ? { executionState: executionState(record) } : {}),
        ...(request.includeJobDocument ? { jobDocument: record.jobDocument } : {}),
      },
    };
  }

  /** Apply a change to a thing's executions and publish `notify` / `notify-next` if it moved them. */
  #change(thing: string, mutate: () => void): void {
    const records = this.#records(thing);
    const pendingBefore = pendingKey(records);
    const nextBefore = nextPending(records)?.jobId;
    mutate();
    const timestamp = this.#seconds();
    if (pendingKey(records) !== pendingBefore) {
      const list = this.#pendingList(thing).body;
      this.#publish(`$aws/things/${thing}/jobs/notify`, {
        timestamp,
        jobs: { IN_PROGRESS: list.inProgressJobs!, QUEUED: list.queuedJobs! },
      });
    }
    const next = nextPending(records);
    if (next?.jobId !== nextBefore) {
      this.#publish(`$aws/things/${thing}/jobs/notify-next`, {
        timestamp,
        ...(next === undefined ? {} : { execution: executionView(next, true) }),
      });
    }
  }

  /** (Re)start the step timer; -1 or undefined leaves the execution without one. */
  #armStepTimer(record: ExecutionRecord, minutes: number | undefined): void {
    this.#clearStepTimer(record);
    if (minutes === undefined || minutes < 0) return;
    const timer = setTimeout(() => {
      this.#timers.delete(record);
      if (record.status !== 'IN_PROGRESS') return;
      this.#log.debug({ thing: record.thingName, jobId: record.jobId }, 'Job execution timed out.');
      this.#change(record.thingName, () => {
        record.status = 'TIMED_OUT';
        record.lastUpdatedAt = this.#seconds();
        record.versionNumber += 1;
      });
    }, minutes * this.#minuteMs);
    timer.unref();
    this.#timers.set(record, timer);
  }

  #clearStepTimer(record: ExecutionRecord): void {
    clearTimeout(this.#timers.get(record));
    this.#timers.delete(record);
  }

  #records(thing: string): ExecutionRecord[] {
    let records = this.#things.get(thing);
    if (records === undefined) {
      records = [];
      this.#things.set(thing, records);
    }
    return records;
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** A response: to every subscriber of the topic, and to the requester even if it did not subscribe. */
  #respond(clientId: string, topic: string, body: JsonObject): void {
    const payload = Buffer.from(JSON.stringify(body));
    this.#publish(topic, body, payload);
    this.#deliverTo(clientId, topic, payload);
  }

  #publish(topic: string, body: JsonObject, payload = Buffer.from(JSON.stringify(body))): void {
    this.#aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (e) => {
      if (e) this.#log.debug({ err: e, topic }, 'Publishing a jobs message failed.');
    });
  }
}

/** Which executions are pending, in which state: `notify` is due when this changes. */
function pendingKey(records: readonly ExecutionRecord[]): string {
  return records
    .filter(isPending)
    .map((r) => `${r.jobId}:${r.status}`)
    .join('\n');
}
