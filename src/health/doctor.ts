import { X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { findExposures } from './exposure.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

/** One `fieldgate doctor` line: what was checked, how it went, and what to do about it. */
export interface CheckResult {
  name: string;
  level: CheckLevel;
  detail: string;
  /** What to do; absent when the check passed. */
  hint?: string;
}

export interface DoctorOptions {
  now?: number;
  /** Where radios show up; injectable for tests. */
  serialByIdDir?: string;
  bluetoothClassDir?: string;
  connectTimeoutMs?: number;
  /** Checked for TLS switches such as NODE_TLS_REJECT_UNAUTHORIZED; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Free space below this on the state disk is a warning (the queue's own floor is `queue.minFreeBytes`). */
const LOW_FREE_FACTOR = 2;
/** A certificate expiring within this many days is a warning. */
const CERT_WARN_DAYS = 30;
/** Before this the clock was never set: a Pi without RTC boots at its last shutdown or at the epoch. */
const SANE_CLOCK_AFTER = Date.UTC(2025, 0, 1);

const ok = (name: string, detail: string): CheckResult => ({ name, level: 'ok', detail });
const warn = (name: string, detail: string, hint: string): CheckResult => ({
  name,
  level: 'warn',
  detail,
  hint,
});
const fail = (name: string, detail: string, hint: string): CheckResult => ({
  name,
  level: 'fail',
  detail,
  hint,
});

/** Runs every check that needs a valid config. Checks never throw: a crash in one becomes its failure. */
export async function runChecks(config: Config, options: DoctorOptions = {}): Promise<CheckResult[]> {
  const checks: Promise<CheckResult | CheckResult[]>[] = [
    checkStateDir(config),
    settled(() => checkClock(options.now ?? Date.now())),
    checkRadios(config, options),
    ...Object.entries(config.routes).map(([name, route]) =>
      checkUpstream(name, route.upstream, options, demoBrokerOf(config)),
    ),
    checkSocket(config.control.socket),
    settled(() => checkExposures(config, options.env ?? process.env)),
  ];
  const results = await Promise.all(checks.map((check) => settled(check)));
  return results.flat();
}

/**
 * A check that throws (synchronously or not) becomes its own failure line, "check failed: …": one broken check
 * never hides the others' answers, and doctor itself never crashes.
 */
async function settled(
  check:
    | Promise<CheckResult | CheckResult[]>
    | (() => CheckResult | CheckResult[] | Promise<CheckResult | CheckResult[]>),
): Promise<CheckResult | CheckResult[]> {
  try {
    return await (typeof check === 'function' ? check() : check);
  } catch (e) {
    return fail(
      'check',
      `check failed: ${errorMessage(e)}`,
      'the other checks ran; if the config validates and this persists, please report it',
    );
  }
}

/** The daemon's own demo broker (`emulators.mqtt`), which listens only while the daemon runs. */
function demoBrokerOf(config: Config): DemoBroker | undefined {
  const mqtt = config.emulators.mqtt;
  return mqtt.enabled ? { host: mqtt.host, port: mqtt.port, socket: config.control.socket } : undefined;
}

interface DemoBroker {
  host: string;
  port: number;
  /** The daemon's control socket: while it is absent the daemon is not running, nor is its broker. */
  socket: string;
}

export async function checkStateDir(config: Config): Promise<CheckResult> {
  const name = 'state dir';
  const dir = config.gateway.stateDir;
  const probe = path.join(dir, `.doctor-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, 'probe');
    await rm(probe);
  } catch (e) {
    return fail(
      name,
      `${dir} is not writable (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      `give the fieldgate user write access: chown -R fieldgate:fieldgate ${dir}, or set gateway.stateDir`,
    );
  }
  const fs = await statfs(dir);
  const freeBytes = fs.bavail * fs.bsize;
  const floor = config.queue.minFreeBytes * LOW_FREE_FACTOR;
  if (freeBytes < floor)
    return warn(
      name,
      `${dir} has ${Math.round(freeBytes / 1e6)} MB free`,
      `free space, or move gateway.stateDir to a bigger disk; below ${Math.round(config.queue.minFreeBytes / 1e6)} MB the queue drops readings`,
    );
  return ok(name, `${dir} writable, ${Math.round(freeBytes / 1e6)} MB free`);
}

export function checkClock(now: number): CheckResult {
  if (now < SANE_CLOCK_AFTER)
    return fail(
      'clock',
      `the system clock says ${new Date(now).toISOString()}`,
      'the clock is not set (no RTC?): check `timedatectl` and that NTP can reach a server; TLS to the cloud fails until it is',
    );
  return ok('clock', new Date(now).toISOString());
}

async function checkRadios(config: Config, options: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [name, adapter] of Object.entries(config.adapters)) {
    if (!adapter.enabled) continue;
    const label = `radio ${name}`;
    if (adapter.type === 'ble') {
      const hci = `hci${adapter.hciDevice}`;
      const present = await exists(path.join(options.bluetoothClassDir ?? '/sys/class/bluetooth', hci));
      results.push(
        present
          ? ok(label, `${hci} present`)
          : fail(
              label,
              `${hci} not found`,
              'plug in the BLE dongle or enable Bluetooth (`rfkill unblock bluetooth`), or set hciDevice',
            ),
      );
    } else if ((adapter.type === 'zigbee' || adapter.type === 'zwave') && adapter.serialPort !== undefined) {
      // Both radios name their stick `serialPort` (adapters/*/options.ts): a device path, or tcp://host:port.
      const port = adapter.serialPort;
      const remote = /^tcp:\/\/(.+):(\d+)$/.exec(port);
      if (remote !== null) {
        const error = await tryConnect(remote[1]!, Number(remote[2]), options.connectTimeoutMs ?? 3000);
        results.push(
          error === undefined
            ? ok(label, `${port} reachable`)
            : fail(
                label,
                `${port} unreachable (${error})`,
                'check the serial server (ser2net) and the network',
              ),
        );
      } else
        results.push(
          (await exists(port))
            ? ok(label, `${port} present`)
            : fail(
                label,
                `serialPort ${port} not found`,
                `plug in the stick; \`ls /dev/serial/by-id/\` shows what is connected`,
              ),
        );
    } else if (adapter.type === 'zigbee' || adapter.type === 'zwave') {
      const sticks = await readdir(options.serialByIdDir ?? '/dev/serial/by-id').catch(() => []);
      results.push(
        sticks.length > 0
          ? ok(label, `no serialPort set; ${sticks.length} serial device(s) in /dev/serial/by-id`)
          : fail(
              label,
              'no serialPort set and no serial device in /dev/serial/by-id',
              'plug in the USB stick, then set its /dev/serial/by-id/… path as serialPort',
            ),
      );
    }
  }
  return results;
}

async function checkUpstream(
  route: string,
  upstream: Config['routes'][string]['upstream'],
  options: DoctorOptions,
  demoBroker: DemoBroker | undefined,
) {
  const results: CheckResult[] = [];
  const endpoint = endpointOf(upstream);
  const label = `cloud ${route}`;
  if (endpoint === undefined)
    results.push(warn(label, `cannot tell where ${upstream.type} connects`, 'check the route config'));
  else {
    const error = await tryConnect(endpoint.host, endpoint.port, options.connectTimeoutMs ?? 3000);
    const isDemoBroker =
      demoBroker !== undefined && demoBroker.host === endpoint.host && demoBroker.port === endpoint.port;
    // Something answering there while the daemon is down is not its broker: the demo broker cannot start.
    const isTaken = isDemoBroker && error === undefined && !(await exists(demoBroker.socket));
    results.push(
      isTaken
        ? fail(
            label,
            `${endpoint.host}:${endpoint.port} is taken by another program, so the demo broker cannot listen there`,
            'stop that program (another MQTT broker such as Mosquitto?), or set emulators.mqtt.port and the route URL to a free port',
          )
        : error !== undefined && isDemoBroker
          ? ok(label, `${endpoint.host}:${endpoint.port} is the daemon's own demo broker (emulators.mqtt)`)
          : error === undefined
            ? ok(label, `${endpoint.host}:${endpoint.port} reachable`)
            : fail(
                label,
                `${endpoint.host}:${endpoint.port} unreachable (${error})`,
                'check the network, DNS and firewall; readings queue until it is back',
              ),
    );
  }
  const tls = (upstream as { tls?: { certFile?: string } }).tls;
  if (tls?.certFile !== undefined)
    results.push(await checkCertificate(`${label} certificate`, tls.certFile, options.now ?? Date.now()));
  return results;
}

/** One warning per listener reachable from the network and per TLS relaxation, with its config key. */
export function checkExposures(config: Config, env: NodeJS.ProcessEnv): CheckResult[] {
  const exposures = findExposures(config, env);
  if (exposures.length === 0)
    return [ok('exposure', 'listeners on loopback only; every upstream uses TLS and verifies the server')];
  return exposures.map((e) => warn('exposure', `${e.path}: ${e.message}`, e.hint));
}

export async function checkCertificate(name: string, file: string, now: number): Promise<CheckResult> {
  const cert = new X509Certificate(await readFile(file));
  const daysLeft = Math.floor((Date.parse(cert.validTo) - now) / 86_400_000);
  if (daysLeft < 0)
    return fail(
      name,
      `${file} expired on ${cert.validTo}`,
      'issue a new device certificate and replace the file',
    );
  if (daysLeft < CERT_WARN_DAYS)
    return warn(
      name,
      `${file} expires in ${daysLeft} days`,
      'renew the device certificate before it expires',
    );
  return ok(name, `${file} valid for ${daysLeft} more days`);
}

export async function checkSocket(socketPath: string): Promise<CheckResult> {
  const name = 'control socket';
  if (socketPath === '') return ok(name, 'disabled');
  const info = await stat(socketPath).catch(() => undefined);
  if (info === undefined)
    return warn(
      name,
      `${socketPath} does not exist`,
      'the daemon is not running: `systemctl start fieldgate` (for the demo config: `npm start`)',
    );
  const dirMode = (await stat(path.dirname(socketPath))).mode & 0o777;
  const mode = info.mode & 0o777;
  if (!info.isSocket())
    return fail(name, `${socketPath} is not a socket`, `remove it; the daemon recreates it at start`);
  if ((mode & 0o007) !== 0)
    return fail(
      name,
      `${socketPath} is ${mode.toString(8)}: any local user can control the gateway`,
      'run under the shipped unit (RuntimeDirectoryMode=0750, UMask=0027), which creates it 0660',
    );
  if ((dirMode & 0o007) !== 0)
    return warn(
      name,
      `${socketPath} sits in a ${dirMode.toString(8)} directory, so it is briefly open between bind and chmod`,
      'keep the socket in a 0750 directory such as /run/fieldgate (RuntimeDirectoryMode=0750)',
    );
  try {
    await access(socketPath, constants.R_OK | constants.W_OK);
  } catch {
    return warn(
      name,
      `${socketPath} is ${mode.toString(8)}; you cannot use it`,
      'add yourself to the CLI group: `sudo usermod -aG fieldgate-cli $USER`, then log in again (not to group fieldgate: that one reads the secrets)',
    );
  }
  return ok(name, `${socketPath} ${mode.toString(8)}, directory ${dirMode.toString(8)}`);
}

/** host:port from an upstream config: an MQTT `url`, or a cloud `endpoint`/`hostName` with its port. */
function endpointOf(upstream: object): { host: string; port: number } | undefined {
  const fields = upstream as Record<string, unknown>;
  if (typeof fields.url === 'string') {
    if (!URL.canParse(fields.url)) return undefined;
    const url = new URL(fields.url);
    const defaults: Record<string, number> = {
      'mqtt:': 1883,
      'tcp:': 1883,
      'mqtts:': 8883,
      'ssl:': 8883,
      'ws:': 80,
      'wss:': 443,
    };
    return {
      host: url.hostname,
      port: url.port === '' ? (defaults[url.protocol] ?? 1883) : Number(url.port),
    };
  }
  const host = [fields.endpoint, fields.hostName, fields.host].find((h) => typeof h === 'string');
  if (typeof host !== 'string') return undefined;
  return { host, port: typeof fields.port === 'number' ? fields.port : 8883 };
}

function tryConnect(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(`no answer in ${timeoutMs} ms`);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
