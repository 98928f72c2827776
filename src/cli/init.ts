import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { CREDENTIALS_DIRECTORY_VAR, DEFAULT_CREDENTIALS_DIR } from '../config/credentials.js';
import { formatIssue, loadConfig } from '../config/load.js';
import type { ConfigIssue } from '../config/issues.js';
import { FieldgateError, isFieldgateError } from '../errors.js';
import {
  findBluetoothControllers,
  findSerialSticks,
  type SerialStick,
  type ZigbeeCoordinator,
} from './init/radios.js';
import { renderConfig, type CloudAnswers, type InitAnswers, type RadioAnswer } from './init/render.js';

type ZigbeeAnswer = Extract<RadioAnswer, { kind: 'zigbee' }>;

const CLOUDS = ['mqtt', 'azure', 'aws'] as const;
const RADIOS = ['zigbee', 'zwave', 'ble'] as const;
const COORDINATORS = ['ember', 'zstack', 'deconz'] as const;

export interface InitOptions {
  cloud?: string | undefined;
  url?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  connectionString?: string | undefined;
  hostName?: string | undefined;
  deviceId?: string | undefined;
  sharedAccessKey?: string | undefined;
  endpoint?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  caFile?: string | undefined;
  thingName?: string | undefined;
  radio: string[];
  zigbeePort?: string | undefined;
  zigbeeCoordinator?: string | undefined;
  zwavePort?: string | undefined;
  hciDevice?: string | undefined;
  gatewayId?: string | undefined;
  stateDir?: string | undefined;
  sim?: boolean | undefined;
  output?: string | undefined;
  force?: boolean | undefined;
  credentialsDir?: string | undefined;
  serialDir: string;
  bluetoothDir: string;
}

/** What `init` touches outside itself; injected so tests need no terminal and no root. */
export interface InitIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Asks one question; undefined when not on a terminal. */
  ask?: (question: string) => Promise<string>;
  isRoot: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** What the machine has: serial sticks under /dev/serial/by-id and Bluetooth controllers. */
interface Found {
  sticks: SerialStick[];
  unknownSerial: string[];
  hci: number[];
}

/**
 * `fieldgate init`: writes a minimal config that validates as written, with the radios found on this machine
 * and the secrets in credential files (0600), never in the YAML. Asks on a terminal; takes flags elsewhere.
 * Returns the exit code.
 */
export async function runInit(options: InitOptions, io: InitIo): Promise<number> {
  const sticks = await findSerialSticks(path.resolve(io.cwd, options.serialDir));
  const found: Found = {
    sticks: sticks.recognised,
    unknownSerial: sticks.unknown,
    hci: await findBluetoothControllers(path.resolve(io.cwd, options.bluetoothDir)),
  };
  const isInteractive = io.ask !== undefined && options.cloud === undefined;
  const chosen = isInteractive ? await ask(options, found, io) : options;
  const answers = answersFrom(chosen, found, io);
  const output = chosen.output === undefined ? undefined : path.resolve(io.cwd, chosen.output);

  if (output !== undefined && chosen.force !== true && (await exists(output))) {
    throw new FieldgateError('FG_USAGE', `${output} exists; nothing written (add --force to replace it)`);
  }
  const credentialsDir = path.resolve(
    io.cwd,
    chosen.credentialsDir ??
      (io.isRoot
        ? DEFAULT_CREDENTIALS_DIR
        : path.join(output === undefined ? io.cwd : path.dirname(output), 'credentials')),
  );
  const credentialPath = (name: string) =>
    credentialsDir === DEFAULT_CREDENTIALS_DIR
      ? `\${${CREDENTIALS_DIRECTORY_VAR}}/${name}`
      : output === undefined
        ? path.join(credentialsDir, name)
        : path.relative(path.dirname(output), path.join(credentialsDir, name));
  const { yaml, credentials } = renderConfig(answers, credentialPath);

  if (credentials.length > 0) {
    await mkdir(credentialsDir, { recursive: true, mode: 0o700 });
    for (const { name, value } of credentials) {
      const file = path.join(credentialsDir, name);
      if (chosen.force !== true && (await exists(file))) {
        throw new FieldgateError('FG_USAGE', `${file} exists; nothing written (add --force to replace it)`);
      }
      await writeFile(file, `${value}\n`, { mode: 0o600 });
      await chmod(file, 0o600); // An existing file keeps its mode on write.
      io.stderr.write(`init: wrote credential ${file} (mode 0600)\n`);
    }
  }
  if (output === undefined) {
    io.stdout.write(yaml);
    return 0;
  }
  await mkdir(path.dirname(output), { recursive: true });
  await writeFile(output, yaml, { mode: 0o640 });
  return reportWritten(output, io);
}

/** Validates what was written, as `config validate` would, and says so; a refusal lists the issues. */
async function reportWritten(output: string, io: InitIo): Promise<number> {
  try {
    await loadConfig(output, { env: io.env });
    io.stdout.write(
      `wrote ${output}; it is valid. Check it again after editing: fieldgate config validate ${output}\n`,
    );
    return 0;
  } catch (error) {
    const issues = isFieldgateError(error) ? (error.context?.errors as ConfigIssue[] | undefined) : undefined;
    io.stderr.write(`wrote ${output}, but it does not validate:\n`);
    io.stderr.write((issues ?? []).map((issue) => `${formatIssue(issue)}\n`).join(''));
    return 78;
  }
}

function answersFrom(options: InitOptions, found: Found, io: InitIo): InitAnswers {
  const answers: InitAnswers = {
    cloud: cloudFrom(options, io.cwd),
    radios: radiosFrom(options, found, io),
    sim: options.sim === true,
  };
  if (options.gatewayId !== undefined) answers.gatewayId = options.gatewayId;
  // Not root: a state dir beside the config, so the daemon runs from a shell without /var/lib/fieldgate.
  const stateDir = options.stateDir ?? (io.isRoot ? undefined : './state');
  if (stateDir !== undefined) answers.stateDir = stateDir;
  return answers;
}

/** The cloud from the options; file paths made absolute, since the config resolves them against its own dir. */
function cloudFrom(options: InitOptions, cwd: string): CloudAnswers {
  const kind = options.cloud ?? 'mqtt';
  switch (kind) {
    case 'mqtt': {
      const url = options.url ?? 'mqtt://127.0.0.1:1883';
      if (!/^(mqtts?|wss?|tcp|ssl):\/\//.test(url)) {
        throw new FieldgateError('FG_USAGE', `--url ${url}: expected mqtt://, mqtts://, ws:// or wss://`);
      }
      if (options.password !== undefined && options.username === undefined) {
        throw new FieldgateError('FG_USAGE', '--password needs --username');
      }
      return { kind, url, ...pick(options, ['username', 'password']) };
    }
    case 'azure':
      if (options.connectionString !== undefined) return { kind, connectionString: options.connectionString };
      if (options.hostName === undefined || options.sharedAccessKey === undefined) {
        throw new FieldgateError(
          'FG_USAGE',
          '--cloud azure needs --connection-string, or --host-name with --shared-access-key (and --device-id)',
        );
      }
      return { kind, ...pick(options, ['hostName', 'deviceId', 'sharedAccessKey']) };
    case 'aws':
      if (options.endpoint === undefined || options.certFile === undefined || options.keyFile === undefined) {
        throw new FieldgateError(
          'FG_USAGE',
          '--cloud aws needs --endpoint (xxxx-ats.iot.<region>.amazonaws.com), --cert-file and --key-file',
        );
      }
      return {
        kind,
        endpoint: options.endpoint,
        certFile: path.resolve(cwd, options.certFile),
        keyFile: path.resolve(cwd, options.keyFile),
        ...(options.caFile === undefined ? {} : { caFile: path.resolve(cwd, options.caFile) }),
        ...pick(options, ['thingName']),
      };
    default:
      throw new FieldgateError('FG_USAGE', `--cloud ${kind}: expected one of ${CLOUDS.join(', ')}`);
  }
}

function radiosFrom(options: InitOptions, found: Found, io: InitIo): RadioAnswer[] {
  const radios: RadioAnswer[] = [];
  for (const kind of new Set(options.radio)) {
    switch (kind) {
      case 'zigbee':
        radios.push({ kind, stick: zigbeeStick(options, found, io) });
        break;
      case 'zwave': {
        const stick = found.sticks.find((s) => s.radio === 'zwave');
        const serialPort = options.zwavePort ?? stick?.path;
        if (serialPort === undefined) {
          throw new FieldgateError(
            'FG_USAGE',
            `no Z-Wave stick found under ${options.serialDir}${unknownHint(found)}; plug it in, or give --zwave-port`,
          );
        }
        if (options.zwavePort === undefined)
          io.stderr.write(`init: Z-Wave: ${stick!.label} at ${serialPort}\n`);
        radios.push({ kind, serialPort });
        break;
      }
      case 'ble': {
        const hciDevice = options.hciDevice === undefined ? found.hci[0] : Number(options.hciDevice);
        if (hciDevice === undefined || !Number.isInteger(hciDevice) || hciDevice < 0) {
          throw new FieldgateError(
            'FG_USAGE',
            `no Bluetooth controller found under ${options.bluetoothDir}; give --hci-device N for hciN`,
          );
        }
        radios.push({ kind, hciDevice });
        break;
      }
      default:
        throw new FieldgateError('FG_USAGE', `--radio ${kind}: expected one of ${RADIOS.join(', ')}`);
    }
  }
  const unused = found.sticks.filter((s) => !options.radio.includes(s.radio));
  for (const stick of unused) {
    io.stderr.write(`init: found ${stick.label} at ${stick.path}; not used (add --radio ${stick.radio})\n`);
  }
  return radios;
}

function zigbeeStick(options: InitOptions, found: Found, io: InitIo): ZigbeeAnswer['stick'] {
  const coordinator = options.zigbeeCoordinator;
  if (coordinator !== undefined && !(COORDINATORS as readonly string[]).includes(coordinator)) {
    throw new FieldgateError(
      'FG_USAGE',
      `--zigbee-coordinator ${coordinator}: expected one of ${COORDINATORS.join(', ')}`,
    );
  }
  if (options.zigbeePort !== undefined) {
    const model = found.sticks.find((s) => s.path === options.zigbeePort);
    const family = (coordinator as ZigbeeCoordinator | undefined) ?? model?.coordinator;
    if (family === undefined) {
      throw new FieldgateError(
        'FG_USAGE',
        `--zigbee-port ${options.zigbeePort}: say which firmware it runs with --zigbee-coordinator (${COORDINATORS.join(', ')}); docs/radios.md lists the common sticks`,
      );
    }
    return { ...model, path: options.zigbeePort, coordinator: family };
  }
  const zigbee = found.sticks.filter((s) => s.radio === 'zigbee');
  const stick = zigbee[0];
  if (stick === undefined) {
    throw new FieldgateError(
      'FG_USAGE',
      `no Zigbee stick recognised under ${options.serialDir}${unknownHint(found)}; plug it in, or give --zigbee-port and --zigbee-coordinator`,
    );
  }
  if (zigbee.length > 1)
    io.stderr.write(
      `init: ${zigbee.length} Zigbee sticks found; using the first (--zigbee-port picks another)\n`,
    );
  io.stderr.write(`init: Zigbee: ${stick.label} at ${stick.path} (coordinator ${stick.coordinator})\n`);
  const family = (coordinator as ZigbeeCoordinator | undefined) ?? stick.coordinator;
  if (family === undefined) throw new FieldgateError('FG_USAGE', `${stick.path}: give --zigbee-coordinator`);
  return { ...stick, coordinator: family };
}

function unknownHint(found: Found): string {
  return found.unknownSerial.length === 0 ? '' : ` (not recognised: ${found.unknownSerial.join(', ')})`;
}

/** On a terminal: the same choices as the flags, as questions; each default shown in brackets. */
async function ask(options: InitOptions, found: Found, io: InitIo): Promise<InitOptions> {
  const question = io.ask!;
  const answer = async (text: string, fallback = '') => {
    const reply = (await question(fallback === '' ? `${text}: ` : `${text} [${fallback}]: `)).trim();
    return reply === '' ? fallback : reply;
  };
  const optional = async (text: string) => {
    const reply = await answer(text);
    return reply === '' ? undefined : reply;
  };
  const yes = async (text: string, fallback: boolean) =>
    /^y/i.test(await answer(`${text} (y/n)`, fallback ? 'y' : 'n'));

  const chosen: InitOptions = { ...options, radio: [...options.radio] };
  chosen.cloud = await answer(`Cloud (${CLOUDS.join(', ')})`, 'mqtt');
  if (chosen.cloud === 'mqtt') {
    chosen.url = await answer('Broker URL', 'mqtt://127.0.0.1:1883');
    chosen.username = await optional('Username (empty: none)');
    if (chosen.username !== undefined)
      chosen.password = await optional('Password (shown as typed; kept in a 0600 credential file)');
  } else if (chosen.cloud === 'azure') {
    chosen.connectionString = await optional(
      'Device connection string (HostName=…;DeviceId=…;SharedAccessKey=…; empty: enter the parts)',
    );
    if (chosen.connectionString === undefined) {
      chosen.hostName = await optional('IoT Hub host name ({hub}.azure-devices.net)');
      chosen.deviceId = await optional('Device id (empty: the gateway id)');
      chosen.sharedAccessKey = await optional('Device key (base64)');
    }
  } else if (chosen.cloud === 'aws') {
    chosen.endpoint = await optional('IoT Core endpoint (xxxx-ats.iot.<region>.amazonaws.com)');
    chosen.certFile = await optional('Device certificate file (PEM)');
    chosen.keyFile = await optional('Private key file (PEM)');
    chosen.caFile = await optional('CA file (empty: the system CAs)');
  }
  for (const stick of found.sticks) {
    if (!chosen.radio.includes(stick.radio) && (await yes(`Use ${stick.label} at ${stick.path}?`, true))) {
      chosen.radio.push(stick.radio);
      if (stick.radio === 'zigbee') chosen.zigbeePort = stick.path;
      else chosen.zwavePort = stick.path;
    }
  }
  for (const serial of found.unknownSerial)
    io.stderr.write(`init: ${serial} is not a stick init knows (docs/radios.md)\n`);
  if (
    found.hci[0] !== undefined &&
    !chosen.radio.includes('ble') &&
    (await yes(`Use Bluetooth controller hci${found.hci[0]}?`, true))
  ) {
    chosen.radio.push('ble');
  }
  chosen.output ??= await answer(
    'Write the config to',
    io.isRoot ? '/etc/fieldgate/fieldgate.yaml' : 'fieldgate.yaml',
  );
  return chosen;
}

/** The keys of `source` that are set; an unset option stays absent rather than `undefined`. */
function pick<K extends keyof InitOptions>(
  source: InitOptions,
  keys: readonly K[],
): { [P in K]?: NonNullable<InitOptions[P]> } {
  const picked: { [P in K]?: NonNullable<InitOptions[P]> } = {};
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined && value !== null) picked[key] = value;
  }
  return picked;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds `fieldgate init` to the program; sets `process.exitCode`. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'write a minimal config for this machine: the cloud, the radios found, secrets in credential files',
    )
    .option(
      '--cloud <kind>',
      `where readings go: ${CLOUDS.join(', ')} (without it, on a terminal, init asks)`,
    )
    .option('--url <url>', 'mqtt: broker URL (default: mqtt://127.0.0.1:1883)')
    .option('--username <name>', 'mqtt: user name')
    .option(
      '--password <password>',
      'mqtt: password, written to a credential file (visible in `ps` while init runs)',
    )
    .option('--connection-string <text>', 'azure: device connection string, written to a credential file')
    .option('--host-name <host>', 'azure: {hub}.azure-devices.net (with --shared-access-key)')
    .option('--device-id <id>', 'azure: device id (default: the gateway id)')
    .option('--shared-access-key <key>', 'azure: device key, written to a credential file')
    .option('--endpoint <host>', 'aws: IoT Core data endpoint')
    .option('--cert-file <file>', 'aws: device certificate (PEM)')
    .option('--key-file <file>', 'aws: private key (PEM)')
    .option('--ca-file <file>', 'aws: CA bundle (default: the system CAs)')
    .option('--thing-name <name>', 'aws: thing name (default: the gateway id)')
    .option('--radio <kind>', `add a radio: ${RADIOS.join(', ')} (repeatable)`, collect, [])
    .option('--zigbee-port <path>', 'zigbee: serial port, when not the stick found')
    .option('--zigbee-coordinator <family>', `zigbee: ${COORDINATORS.join(', ')} (default: from the stick)`)
    .option('--zwave-port <path>', 'zwave: serial port, when not the stick found')
    .option('--hci-device <n>', 'ble: HCI index (default: the first controller found)')
    .option('--gateway-id <id>', 'gateway id (default: the host name)')
    .option('--state-dir <dir>', 'state directory (default: /var/lib/fieldgate as root, ./state otherwise)')
    .option('--sim', 'add the simulated fleet (demo data: never for a real cloud)')
    .option('-o, --output <file>', 'write the config here (default: stdout)')
    .option('--force', 'replace an existing config or credential file')
    .option(
      '--credentials-dir <dir>',
      `where secrets go (default: ${DEFAULT_CREDENTIALS_DIR} as root, else ./credentials beside the output)`,
    )
    .addOption(
      new Option('--serial-dir <dir>', 'where serial sticks are linked')
        .default('/dev/serial/by-id')
        .hideHelp(),
    )
    .addOption(
      new Option('--bluetooth-dir <dir>', 'where Bluetooth controllers are listed')
        .default('/sys/class/bluetooth')
        .hideHelp(),
    )
    .action(async (options: InitOptions) => {
      const isTerminal = process.stdin.isTTY === true;
      const rl = isTerminal ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
      try {
        process.exitCode = await runInit(options, {
          stdout: process.stdout,
          stderr: process.stderr,
          ...(rl === undefined ? {} : { ask: (q: string) => rl.question(q) }),
          isRoot: process.getuid?.() === 0,
          cwd: process.cwd(),
          env: process.env,
        });
      } finally {
        rl?.close();
      }
    });
}
