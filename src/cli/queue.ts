import type { Command } from 'commander';
import { controlRequest } from '../control/client.js';
import type { DeadLetter, QueueStats } from '../queue/queue.js';
import { daemonOptions, resolveSocket, type ReadOptions } from './common.js';
import { formatBytes, formatDuration, formatTable, printJson } from './output.js';

type QueueRow = QueueStats & { route: string; drainEtaS: number | null };

/** `fieldgate queue stats|dlq|replay`. */
export function registerQueue(program: Command): void {
  const queue = program.command('queue').description('backlog per route, dead letters, replay');

  daemonOptions(queue.command('stats').description('backlog per route')).action(
    async (options: ReadOptions) => {
      const { queues } = await controlRequest<{ queues: QueueRow[] }>(
        await resolveSocket(options),
        'GET',
        '/v1/queues',
      );
      if (options.json === true) return printJson(queues);
      const rows = queues.map((q) => [
        q.route,
        String(q.depth),
        formatBytes(q.bytes),
        formatDuration(q.oldestAgeMs / 1000),
        String(Object.values(q.dropped).reduce((a, b) => a + b, 0)),
        String(q.deadLetters),
        q.drainEtaS === null ? '-' : formatDuration(q.drainEtaS),
      ]);
      process.stdout.write(
        `${formatTable(['ROUTE', 'DEPTH', 'BYTES', 'OLDEST', 'DROPPED', 'DEAD', 'DRAIN'], rows)}\n`,
      );
    },
  );

  daemonOptions(queue.command('dlq').description('dead letters of a route, with the reason each was refused'))
    .argument('<route>', 'route name')
    .option('--limit <n>', 'show at most this many', '100')
    .action(async (route: string, options: ReadOptions & { limit: string }) => {
      const { deadLetters } = await controlRequest<{ deadLetters: DeadLetter[] }>(
        await resolveSocket(options),
        'GET',
        `/v1/queues/${encodeURIComponent(route)}/dead-letters?limit=${encodeURIComponent(options.limit)}`,
      );
      if (options.json === true) return printJson(deadLetters);
      const rows = deadLetters.map((d) => [
        String(d.gseq),
        d.reading.device,
        new Date(d.at).toISOString(),
        d.reason,
      ]);
      process.stdout.write(`${formatTable(['SEQ', 'DEVICE', 'AT', 'REASON'], rows)}\n`);
    });

  daemonOptions(queue.command('replay').description("move a route's dead letters back into its queue"))
    .argument('<route>', 'route name')
    .action(async (route: string, options: ReadOptions) => {
      const result = await controlRequest<{ route: string; replayed: number }>(
        await resolveSocket(options),
        'POST',
        `/v1/queues/${encodeURIComponent(route)}/replay`,
      );
      if (options.json === true) printJson(result);
      else process.stdout.write(`replayed ${result.replayed} dead letters into ${route}\n`);
    });
}
