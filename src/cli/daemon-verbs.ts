import type { Command } from 'commander';
import { controlRequest } from '../control/client.js';
import { FieldgateError } from '../errors.js';
import type { StatusSnapshot } from '../health/status.js';
import type { CommandResult, DeviceInfo } from '../model.js';
import { printJson, resolveSocket, type SocketOptions } from './common.js';

/** Verbs that talk to the running daemon over its control socket: status, devices, send. */
export function registerDaemonVerbs(program: Command): void {
  const withSocket = (cmd: Command) =>
    cmd
      .option('--socket <path>', 'control socket of the daemon')
      .option('-c, --config <file>', 'configuration file (to find the socket)');

  withSocket(program.command('status').description('health, adapters, routes and queues at a glance'))
    .option('--json', 'machine-readable output')
    .action(async (options: SocketOptions & { json?: boolean }) => {
      const status = await controlRequest<StatusSnapshot>(await resolveSocket(options), 'GET', '/v1/status');
      if (options.json === true) return printJson(status);
      const lines = [
        `gateway ${status.gateway} · fieldgate ${status.version} · up ${status.uptimeS}s · ${status.healthy ? 'healthy' : 'NOT healthy'}`,
        ...status.problems.map((p) => `  ! ${p}`),
        ...status.adapters.map(
          (a) => `adapter ${a.name} (${a.type}): ${a.state}${a.detail ? ` — ${a.detail}` : ''}`,
        ),
        ...status.routes.map(
          (r) =>
            `route ${r.name}: ${r.forwarder.state}, queue ${r.queue.depth} readings / ${r.queue.bytes} B, ` +
            `oldest ${Math.round(r.queue.oldestAgeMs / 1000)}s, sent ${r.forwarder.sentReadings}`,
        ),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  withSocket(program.command('devices').description('devices the adapters know'))
    .option('--adapter <name>', 'only this adapter')
    .option('--json', 'machine-readable output')
    .action(async (options: SocketOptions & { json?: boolean; adapter?: string }) => {
      const query = options.adapter === undefined ? '' : `?adapter=${encodeURIComponent(options.adapter)}`;
      const { devices } = await controlRequest<{ devices: DeviceInfo[] }>(
        await resolveSocket(options),
        'GET',
        `/v1/devices${query}`,
      );
      if (options.json === true) return printJson(devices);
      for (const d of devices)
        process.stdout.write(`${d.id}\t${d.availability}\t${d.power}\t${d.name ?? ''}\n`);
    });

  withSocket(program.command('send').description('send a command to a device and print its result'))
    .argument('<device>', 'device id, e.g. sim:switch-01')
    .argument('<command>', 'command name, e.g. toggle')
    .argument('[args]', 'JSON object of arguments', '{}')
    .option('--ttl <ms>', 'give up after this many milliseconds', '30000')
    .option('--json', 'machine-readable output')
    .action(
      async (
        device: string,
        name: string,
        argsText: string,
        options: SocketOptions & { ttl: string; json?: boolean },
      ) => {
        let args: unknown;
        try {
          args = JSON.parse(argsText);
        } catch {
          throw new FieldgateError('FG_USAGE', `args must be a JSON object, got: ${argsText}`);
        }
        const result = await controlRequest<CommandResult>(
          await resolveSocket(options),
          'POST',
          '/v1/commands',
          {
            device,
            name,
            args,
            ttlMs: Number(options.ttl),
          },
        );
        if (options.json === true) printJson(result);
        else process.stdout.write(`${result.status}${result.detail ? `: ${result.detail}` : ''}\n`);
        if (result.status !== 'ok') process.exitCode = 1;
      },
    );
}
