import { formatIssue, loadConfig, type ConfigIssue } from '../config/load.js';
import { secretKeyNames, type Redactor } from '../config/redact.js';
import { ErrorCodes, FieldgateError, errorMessage, isFieldgateError } from '../errors.js';
import { BacklogEpisodes, type BacklogEvent } from '../health/backlog-episodes.js';
import { findExposures } from '../health/exposure.js';
import { lineFormatter, resolveLogFormat, type LogFormatSetting } from '../log-format.js';
import { createLogger, type Logger } from '../logger.js';
import type { ReloadStatus } from '../health/status.js';
import { Runtime } from '../runtime.js';
import { VERSION } from '../version.js';
import { LogRing } from '../web/log-ring.js';
import { createNotifier, type Notifier } from './sd-notify.js';
import { statusLine } from './status-line.js';
import { Watchdog } from './watchdog.js';

/** How often the `STATUS=` line is refreshed for `systemctl status`. */
const STATUS_INTERVAL_MS = 10_000;

export interface DaemonOptions {
  /** `--log-format`: overrides the config's `log.format`. */
  logFormat?: LogFormatSetting;
}

/**
 * The daemon's lifecycle under systemd (or a terminal): start, READY=1, a STATUS line, a watchdog fed
 * while liveness holds, SIGHUP reloads, SIGTERM/SIGINT stop with STOPPING=1. Resolves once stopped.
 * @throws FieldgateError from a failed start (config 78, another daemon on the state dir 75, …), after
 *   releasing whatever had started.
 */
export async function runDaemon(configFile: string, options: DaemonOptions = {}): Promise<void> {
  const { config, redactor, warnings, file } = await loadConfig(configFile);
  const logFormat = resolveLogFormat(options.logFormat ?? config.log.format);
  // The status page's live log: kept only when the page is on.
  const webLogs = config.web.enabled ? new LogRing() : undefined;
  const log = createLogger({
    tap: webLogs === undefined ? undefined : (line) => webLogs.push(line),
    level: config.log.level,
    redactor,
    secretFieldNames: secretKeyNames(),
    format: await lineFormatter(logFormat, { isColor: process.stdout.isTTY && !('NO_COLOR' in process.env) }),
  });
  logConfigWarnings(log, warnings);
  // Listeners reachable from the network and TLS relaxations: said once per start (doctor lists them too).
  for (const exposure of findExposures(config, process.env))
    log.warn({ setting: exposure.path, hint: exposure.hint }, exposure.message);
  const notifier = await createNotifier({ log: log.child({ component: 'systemd' }) });
  const runtime = new Runtime({
    config,
    log,
    version: VERSION,
    redactor,
    configFile: file,
    ...(webLogs === undefined ? {} : { webLogs }),
  });
  const { stopped, dispose } = onStopSignal(runtime, notifier, log);
  // Without a handler Node dies on SIGHUP (exit 129); reloads must never kill the gateway.
  process.on('SIGHUP', () => void reload(runtime, configFile, { notifier, log, redactor }));
  // The same reload, asked for over the control socket (`fieldgate devices rename` after writing the file).
  runtime.onReloadRequest(() => reload(runtime, configFile, { notifier, log, redactor }));

  // Start waits while the queue storage is unavailable (read-only, I/O error), with status up: tell systemd
  // it runs (else TimeoutStartSec kills it into a crash loop) and feed the watchdog meanwhile.
  let watchdog: Watchdog | undefined;
  const startWatchdog = () => {
    const watchdogMs = Watchdog.periodMs();
    if (watchdog !== undefined || watchdogMs === undefined) return;
    watchdog = new Watchdog({
      notifier,
      watchdogMs,
      sample: () => runtime.livenessSample(),
      log: log.child({ component: 'watchdog' }),
    });
    watchdog.start();
  };
  runtime.onWaitingForStorage(() => {
    startWatchdog();
    void notifier.notify({ READY: '1', STATUS: statusLine(runtime.status()) });
  });

  try {
    await runtime.start();
  } catch (e) {
    // Nothing is left to stop: a signal from now on must end the process the default way, not be swallowed.
    dispose();
    watchdog?.stop();
    await runtime
      .stop()
      .catch((stopError: unknown) => log.warn({ err: stopError }, 'Cleanup after a failed start failed.'));
    log.flush();
    throw explainStartFailure(e, config.gateway.stateDir);
  }

  startWatchdog();
  const backlogs = new BacklogEpisodes();
  const publishStatus = () => {
    runtime.livenessProblem = watchdog?.problem;
    const status = runtime.status();
    logBacklogEvents(log, backlogs.observe(status.routes, Date.now()));
    return notifier.notify({ STATUS: statusLine(status) });
  };
  await notifier.notify({ READY: '1', STATUS: statusLine(runtime.status()) });
  const statusTimer = setInterval(() => void publishStatus(), STATUS_INTERVAL_MS);
  statusTimer.unref();

  await stopped;
  clearInterval(statusTimer);
  watchdog?.stop();
  log.flush();
}

/**
 * Stops on SIGTERM/SIGINT, or with exit 75 when the runtime needs a restart (systemd's `Restart=on-failure`
 * brings the daemon back, which reopens the queue database).
 */
function onStopSignal(
  runtime: Runtime,
  notifier: Notifier,
  log: Logger,
): { stopped: Promise<void>; dispose: () => void } {
  let dispose = () => {};
  const stopped = new Promise<void>((resolve) => {
    let isStopping = false;
    const stop = (signal: NodeJS.Signals | 'restart') => {
      if (isStopping) return;
      isStopping = true;
      if (signal === 'restart') process.exitCode = ErrorCodes.FG_QUEUE_WRITE_FAILED.exit;
      log.info({ signal }, signal === 'restart' ? 'Stopping, to be restarted.' : 'Stopping.');
      void notifier.notify({ STOPPING: '1' });
      runtime.stop().then(resolve, (e: unknown) => {
        log.error({ err: e }, 'Stop failed.');
        process.exitCode = 1;
        resolve();
      });
    };
    // `on`, not `once`: a library's exit hook (signal-exit, under zwave-js's lockfile) re-raises the signal
    // when it finds itself the only listener left, which would kill the daemon mid-stop (exit 143).
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    const offRestart = runtime.onNeedsRestart(() => stop('restart'));
    dispose = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      offRestart();
    };
  });
  return { stopped, dispose };
}

/**
 * SIGHUP: load and validate the file again; apply what can be applied, report what needs a restart, and keep
 * the running config when the new file is invalid (ExecReload validates first, so that is a hand-sent HUP).
 */
async function reload(
  runtime: Runtime,
  configFile: string,
  { notifier, log, redactor }: { notifier: Notifier; log: Logger; redactor: Redactor },
): Promise<ReloadStatus> {
  // MONOTONIC_USEC lets systemd ≥ 253 match READY=1 to this reload; older versions ignore it.
  const monotonicUsec = (process.hrtime.bigint() / 1000n).toString();
  await notifier.notify({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec });
  try {
    const loaded = await loadConfig(configFile);
    // The new file's secrets join the known ones: logs and status scrub them from now on.
    redactor.merge(loaded.redactor);
    logConfigWarnings(log, loaded.warnings);
    const result = runtime.reload(loaded.config);
    log.info({ applied: result.applied }, 'Configuration reloaded.');
    for (const key of result.restartRequired) log.warn({ key }, `Restart required: ${key} changed.`);
  } catch (e) {
    runtime.reloadFailed(errorMessage(e));
    log.error({ err: errorMessage(e) }, 'Reload failed; the running configuration is unchanged.');
  }
  await notifier.notify({ READY: '1', STATUS: statusLine(runtime.status()) });
  return runtime.status().reload ?? { at: Date.now(), applied: [], restartRequired: [] };
}

/** One line when a route's backlog starts draining (with its ETA) and one when it has drained. */
function logBacklogEvents(log: Logger, events: readonly BacklogEvent[]): void {
  for (const event of events) {
    if (event.kind === 'draining')
      log.info({ route: event.route, depth: event.depth, etaS: event.etaS }, 'Backlog draining.');
    else log.info({ route: event.route, tookS: event.tookS }, 'Backlog drained.');
  }
}

/** Keys that still work but should change (an old name): one WARN line each, at load and reload. */
function logConfigWarnings(log: Logger, warnings: readonly ConfigIssue[]): void {
  for (const warning of warnings) log.warn({ file: warning.file, line: warning.line }, formatIssue(warning));
}

/** A held queue LOCK means another daemon uses this state dir: say so, not "database in use". */
function explainStartFailure(e: unknown, stateDir: string): unknown {
  if (!isFieldgateError(e, 'FG_QUEUE_LOCKED')) return e;
  return new FieldgateError(
    'FG_QUEUE_LOCKED',
    `another fieldgate daemon is already running with state dir ${stateDir}; stop it first ` +
      '(`systemctl stop fieldgate`) or give this one its own gateway.stateDir',
    { cause: e },
  );
}
