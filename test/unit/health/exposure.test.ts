import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { checkExposures } from '../../../src/health/doctor.js';
import { findExposures, hostOfListen, isLoopbackHost } from '../../../src/health/exposure.js';

const AZURE_KEY = 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=';

const config = (extra: Record<string, unknown>) => configSchema.parse({ control: { socket: '' }, ...extra });
const mqttRoute = (upstream: Record<string, unknown>) => ({
  routes: { cloud: { upstream: { type: 'mqtt', ...upstream } } },
});
const azureRoute = (upstream: Record<string, unknown>) => ({
  routes: {
    hub: {
      upstream: { type: 'azure', hostName: 'h.azure-devices.net', sharedAccessKey: AZURE_KEY, ...upstream },
    },
  },
});
const pathsOf = (extra: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  findExposures(config(extra), env).map((e) => e.path);

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.0.0.2', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['metrics.localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['[::]', false],
    ['', false],
    ['192.168.1.10', false],
    ['10.0.0.5', false],
    ['fe80::1', false],
    ['::ffff:192.168.1.10', false],
    ['gateway.local', false],
    ['localhost.example.com', false],
  ])('%j → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('hostOfListen', () => {
  it.each([
    ['0.0.0.0:9464', '0.0.0.0'],
    ['127.0.0.1:9464', '127.0.0.1'],
    ['[::]:9464', '::'],
    ['[::1]:9464', '::1'],
    ['localhost:9464', 'localhost'],
    ['192.168.1.10:9464', '192.168.1.10'],
  ])('%j → %j', (listen, host) => {
    expect(hostOfListen(listen)).toBe(host);
  });
});

describe('findExposures', () => {
  it.each([
    ['0.0.0.0:9464', true],
    ['[::]:9464', true],
    ['192.168.1.10:9464', true],
    ['gateway.local:9464', true],
    ['127.0.0.1:9464', false],
    ['[::1]:9464', false],
    ['localhost:9464', false],
    ['', false],
  ])('metrics.listen %j is risky: %s', (listen, risky) => {
    const found = findExposures(config({ metrics: { listen } }));
    expect(found.map((e) => e.path)).toEqual(risky ? ['metrics.listen'] : []);
    if (risky) expect(found[0]!.message).toMatch(/reachable from the network, without authentication/);
  });

  it.each([
    ['0.0.0.0:9465', true],
    ['192.168.1.10:9465', true],
    ['127.0.0.1:9465', false],
  ])('the status page on %j is risky: %s', (listen, risky) => {
    const tokens = [{ name: 'ops', token: 'x'.repeat(16) }];
    const found = findExposures(config({ web: { enabled: true, listen, tokens } }));
    expect(found.map((e) => e.path)).toEqual(risky ? ['web.listen'] : []);
    expect(findExposures(config({ web: { enabled: false, listen, tokens } }))).toEqual([]);
  });

  it.each([
    [{ enabled: true, host: '0.0.0.0' }, /without authentication/],
    [{ enabled: true, host: '::', username: 'u', password: 'p' }, /password sent in plaintext/],
  ])('warns of the demo broker bound to the network: %j', (mqtt, why) => {
    const found = findExposures(config({ emulators: { mqtt } }));
    expect(found.map((e) => e.path)).toEqual(['emulators.mqtt.host']);
    expect(found[0]!.message).toMatch(/reachable from the network/);
    expect(found[0]!.message).toMatch(why);
  });

  it('leaves a demo broker on loopback, or a disabled one, alone', () => {
    expect(pathsOf({ emulators: { mqtt: { enabled: true } } })).toEqual([]);
    expect(pathsOf({ emulators: { mqtt: { enabled: false, host: '0.0.0.0' } } })).toEqual([]);
  });

  it.each([
    [mqttRoute({ url: 'mqtts://broker.example:8883', tls: { rejectUnauthorized: false } })],
    [azureRoute({ tls: { rejectUnauthorized: false } })],
  ])('names an upstream that does not verify certificates: %j', (route) => {
    const found = findExposures(config(route));
    expect(found).toHaveLength(1);
    expect(found[0]!.path).toMatch(/^routes\.(cloud|hub)\.upstream\.tls\.rejectUnauthorized$/);
    expect(found[0]!.message).toMatch(/does not verify the server's TLS certificate/);
  });

  it.each([
    ['mqtt://broker.example:1883', true],
    ['tcp://192.168.1.20:1883', true],
    ['ws://broker.example/mqtt', true],
    ['mqtt://127.0.0.1:1883', false],
    ['mqtt://localhost:1883', false],
    ['mqtt://[::1]:1883', false],
    ['mqtts://broker.example:8883', false],
    ['wss://broker.example/mqtt', false],
  ])('MQTT url %j is plaintext to the network: %s', (url, risky) => {
    expect(pathsOf(mqttRoute({ url }))).toEqual(risky ? ['routes.cloud.upstream.url'] : []);
  });

  it('never repeats a URL, which may carry a password', () => {
    const [found] = findExposures(config(mqttRoute({ url: 'mqtt://user:s3cret-pw@broker.example:1883' })));
    expect(found!.message).toContain('broker.example');
    expect(found!.message).toContain('credentials included');
    expect(JSON.stringify(found)).not.toContain('s3cret-pw');
  });

  it.each([
    ['mqtt://hub-emulator.lan:1883', true],
    ['amqp://10.0.0.5:5672', true],
    ['http://10.0.0.5:8080', true],
    ['mqtt://127.0.0.1:1883', false],
    ['amqps://edge.lan:5671', false],
    ['https://edge.lan', false],
  ])('Azure endpoint %j is plaintext to the network: %s', (endpoint, risky) => {
    expect(pathsOf(azureRoute({ endpoint }))).toEqual(risky ? ['routes.hub.upstream.endpoint'] : []);
  });

  it('reports NODE_TLS_REJECT_UNAUTHORIZED=0 from the environment', () => {
    expect(pathsOf({}, { NODE_TLS_REJECT_UNAUTHORIZED: '0' })).toEqual(['NODE_TLS_REJECT_UNAUTHORIZED']);
    expect(pathsOf({}, { NODE_TLS_REJECT_UNAUTHORIZED: '1' })).toEqual([]);
  });

  it('finds nothing in the defaults', () => {
    expect(pathsOf({})).toEqual([]);
  });
});

describe('doctor: exposure', () => {
  it('lists each exposure as a warning with its config path, or one ok line', () => {
    const risky = config({
      metrics: { listen: '0.0.0.0:9464' },
      ...mqttRoute({ url: 'mqtts://broker.example:8883', tls: { rejectUnauthorized: false } }),
    });
    const results = checkExposures(risky, {});
    expect(results.map((r) => [r.level, r.detail.split(':')[0]])).toEqual([
      ['warn', 'metrics.listen'],
      ['warn', 'routes.cloud.upstream.tls.rejectUnauthorized'],
    ]);
    expect(results.every((r) => r.hint !== undefined)).toBe(true);
    expect(checkExposures(config({}), {}).map((r) => r.level)).toEqual(['ok']);
  });
});

describe('emulators.mqtt credentials', () => {
  it('takes username and password together, and refuses one without the other', () => {
    const both = config({ emulators: { mqtt: { enabled: true, username: 'u', password: 'p' } } });
    expect(both.emulators.mqtt).toMatchObject({ username: 'u', password: 'p' });
    expect(() => config({ emulators: { mqtt: { username: 'u' } } })).toThrow(/username and password/);
  });
});
