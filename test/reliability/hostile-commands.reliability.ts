import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../integration/support/daemon.js';
import { Subscriber } from '../integration/support/subscriber.js';

const TOPIC = 'fieldgate/it/commands';
const SWITCH = 'sim:switch-01';
/** The MQTT upstream's default command size limit: larger ones are refused unread, under a new id. */
const MAX_COMMAND_BYTES = 64 * 1024;
/** Nested objects `{"a":{"a":…}}`: inside the 64 KiB command limit, deeper than JSON.stringify's stack. */
const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

interface Hostile {
  why: string;
  topic?: string;
  payload: string | Buffer;
}

/** What a compromised or buggy cloud might send. Each must come back `rejected`, exactly once. */
const HOSTILE: Hostile[] = [
  { why: 'not JSON', payload: 'turn it on please' },
  { why: 'truncated JSON', payload: `{"id":"h-trunc","device":"${SWITCH}","name":"on"` },
  { why: 'empty payload', payload: '' },
  { why: 'binary garbage', payload: Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x7b, 0x22, 0xc3, 0x28]) },
  { why: 'a JSON array', payload: '[1,2,3]' },
  { why: 'a JSON string', payload: '"on"' },
  { why: 'JSON null', payload: 'null' },
  {
    why: 'over the size limit',
    payload: JSON.stringify({ id: 'h-huge', device: SWITCH, name: 'on', pad: 'x'.repeat(200_000) }),
  },
  {
    why: 'huge args',
    payload: JSON.stringify({ id: 'h-bigargs', device: SWITCH, name: 'on', args: { x: 'y'.repeat(30_000) } }),
  },
  {
    why: 'deeply nested args',
    payload: `{"id":"h-deep","device":"${SWITCH}","name":"on","args":${deep(6_000)}}`,
  },
  {
    why: 'deeply nested arrays',
    payload: `{"id":"h-deeparr","device":"${SWITCH}","name":"on","args":{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
  },
  {
    why: '__proto__ in args',
    payload: `{"id":"h-proto-args","device":"${SWITCH}","name":"on","args":{"__proto__":{"polluted":true}}}`,
  },
  {
    why: '__proto__ as the body',
    payload: `{"__proto__":{"id":"h-proto-body","device":"${SWITCH}","name":"on"}}`,
  },
  {
    why: 'constructor.prototype in args',
    payload: `{"id":"h-ctor","device":"${SWITCH}","name":"on","args":{"constructor":{"prototype":{"polluted":true}}}}`,
  },
  {
    why: 'command named __proto__',
    payload: JSON.stringify({ id: 'h-name-proto', device: SWITCH, name: '__proto__' }),
  },
  {
    why: 'command named constructor',
    payload: JSON.stringify({ id: 'h-name-ctor', device: SWITCH, name: 'constructor' }),
  },
  {
    why: 'command named toString',
    payload: JSON.stringify({ id: 'h-name-tostring', device: SWITCH, name: 'toString' }),
  },
  {
    why: 'device named __proto__',
    payload: JSON.stringify({ id: 'h-dev-proto', device: '__proto__', name: 'on' }),
  },
  {
    why: 'device __proto__ in the topic',
    topic: `${TOPIC}/__proto__`,
    payload: JSON.stringify({ id: 'h-topic-proto', name: 'on' }),
  },
  { why: 'numeric id', payload: JSON.stringify({ id: 5, device: SWITCH, name: 'on' }) },
  { why: 'numeric name', payload: JSON.stringify({ id: 'h-num-name', device: SWITCH, name: 7 }) },
  {
    why: 'args as an array',
    payload: JSON.stringify({ id: 'h-args-array', device: SWITCH, name: 'on', args: [1] }),
  },
  {
    why: 'args as a string',
    payload: JSON.stringify({ id: 'h-args-string', device: SWITCH, name: 'on', args: 'x' }),
  },
  { why: 'negative ttlMs', payload: JSON.stringify({ id: 'h-ttl', device: SWITCH, name: 'on', ttlMs: -1 }) },
  {
    why: 'ttlMs as a string',
    payload: JSON.stringify({ id: 'h-ttl-str', device: SWITCH, name: 'on', ttlMs: '5' }),
  },
  {
    why: 'expiresAt not a date',
    payload: JSON.stringify({ id: 'h-exp', device: SWITCH, name: 'on', expiresAt: 'soon' }),
  },
  { why: 'numeric device', payload: JSON.stringify({ id: 'h-num-dev', device: 42, name: 'on' }) },
  { why: 'no device', payload: JSON.stringify({ id: 'h-no-dev', name: 'on' }) },
  {
    why: 'unknown device',
    payload: JSON.stringify({ id: 'h-unknown-dev', device: 'sim:nope-99', name: 'on' }),
  },
  {
    why: 'path-like device',
    payload: JSON.stringify({ id: 'h-path-dev', device: '../../etc/passwd', name: 'on' }),
  },
  {
    why: 'topic and body disagree',
    topic: `${TOPIC}/${SWITCH}`,
    payload: JSON.stringify({ id: 'h-differ', device: 'sim:switch-02', name: 'on' }),
  },
  {
    why: 'unknown command',
    payload: JSON.stringify({ id: 'h-unknown-cmd', device: SWITCH, name: 'selfDestruct' }),
  },
  {
    why: 'unknown argument',
    payload: JSON.stringify({ id: 'h-unknown-arg', device: SWITCH, name: 'on', args: { volts: 230 } }),
  },
];

function idOf(payload: string | Buffer): string | undefined {
  try {
    const body: unknown = JSON.parse(payload.toString());
    const id = (body as { id?: unknown } | null)?.id;
    return typeof id === 'string' && Object.hasOwn(body as object, 'id') ? id : undefined;
  } catch {
    return undefined;
  }
}

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
let cloud: Subscriber;
let daemon: Daemon;

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  cloud = await Subscriber.connect(broker.port);
  daemon = await Daemon.start(work.dir, testConfig(work.dir, broker.port));
  await waitFor(() => cloud.readings.some((r) => r.device === SWITCH), 'the switch to report');
});

afterAll(async () => {
  await daemon?.stop();
  await cloud.close();
  await broker.close();
  await work.cleanup();
});

it(`answers each of ${HOSTILE.length} hostile commands rejected, keeps the connection and keeps running`, async () => {
  for (const hostile of HOSTILE) {
    await cloud.client.publishAsync(hostile.topic ?? TOPIC, hostile.payload, { qos: 1 });
  }
  await waitFor(
    () => cloud.results.length >= HOSTILE.length,
    `${HOSTILE.length} results (got ${cloud.results.length})`,
    60_000,
    () =>
      daemon.process.exitCode !== null ? `the daemon exited:\n${daemon.output.slice(-3000)}` : undefined,
  );
  // A valid command after the barrage: the command path still works, so the daemon kept its connection.
  await cloud.publishCommand('it', { id: 'h-after', device: SWITCH, name: 'off' });
  await waitFor(
    () => cloud.results.some((r) => r.id === 'h-after'),
    'the result of a valid command after them',
  );

  const hostileResults = cloud.results.filter((r) => r.id !== 'h-after');
  const notRejected = hostileResults.filter((r) => r.status !== 'rejected');
  // Messages that carry a readable id must be answered under it; the rest get a generated one.
  const withId = HOSTILE.filter((h) => h.payload.length <= MAX_COMMAND_BYTES).flatMap(
    (h) => idOf(h.payload) ?? [],
  );
  const unanswered = withId.filter((id) => !hostileResults.some((r) => r.id === id));
  console.log(
    `hostile commands: ${HOSTILE.length} sent, ${hostileResults.length} results, ` +
      `${hostileResults.length - notRejected.length} rejected, ${notRejected.length} otherwise; ` +
      `daemon ${daemon.process.exitCode === null ? 'alive' : 'exited'}`,
  );
  for (const r of hostileResults) console.log(`  ${r.id}: ${r.status}: ${r.detail ?? ''}`.slice(0, 200));
  expect(notRejected).toEqual([]);
  expect(unanswered).toEqual([]);
  expect(hostileResults).toHaveLength(HOSTILE.length);
  expect(cloud.results.find((r) => r.id === 'h-after')).toMatchObject({ status: 'ok' });
  expect(daemon.process.exitCode).toBeNull();
  // Still forwarding telemetry, on the same connection.
  const readings = cloud.readings.length;
  await waitFor(() => cloud.readings.length > readings, 'telemetry after the barrage');
  expect(daemon.output).not.toMatch(/Upstream unavailable|command handler threw/);
});
