import { MemoryCommandStore, type CommandStore } from '../../../src/commands/command-store.js';
import {
  CommandRouter,
  type CommandRouterOptions,
  type ResultAddress,
} from '../../../src/commands/router.js';
import { silentLogger } from '../../../src/logger.js';
import type { CommandResult, DeviceCommand } from '../../../src/model.js';
import type { IncomingCommand } from '../../../src/upstream/upstream.js';
import { FakeDevices } from './fake-devices.js';

export interface Harness {
  router: CommandRouter;
  devices: FakeDevices;
  store: CommandStore;
  /** Every result handed to `publishResult`, in order. */
  published: { address: ResultAddress; result: CommandResult }[];
  /** The published results of one command: exactly one is the rule. */
  resultsFor(id: string): CommandResult[];
}

export function createHarness(
  options: Partial<
    Pick<
      CommandRouterOptions,
      'store' | 'now' | 'recentCapacity' | 'publishResult' | 'isRouteConnected' | 'log'
    >
  > & {
    devices?: FakeDevices;
    config?: Partial<CommandRouterOptions['config']>;
  } = {},
): Harness {
  const devices = options.devices ?? new FakeDevices();
  const store = options.store ?? new MemoryCommandStore();
  const published: Harness['published'] = [];
  const router = new CommandRouter({
    store,
    lookup: devices.lookup,
    publishResult: async (address, result) => {
      published.push({ address, result });
      await options.publishResult?.(address, result);
    },
    config: {
      defaultTtlMs: 60_000,
      maxPerDevice: 3,
      maxHeld: 100,
      maxIdLength: 64,
      maxArgsBytes: 256,
      ...options.config,
    },
    log: options.log ?? silentLogger(),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.recentCapacity === undefined ? {} : { recentCapacity: options.recentCapacity }),
    ...(options.isRouteConnected === undefined ? {} : { isRouteConnected: options.isRouteConnected }),
  });
  const resultsFor = (id: string): CommandResult[] =>
    published.filter((p) => p.result.id === id).map((p) => p.result);
  return { router, devices, store, published, resultsFor };
}

export function incoming(
  id: string,
  device: string,
  name = 'toggle',
  extra: Partial<Pick<DeviceCommand, 'args' | 'expiresAt'>> = {},
): IncomingCommand {
  return { kind: 'command', command: { id, device, name, args: {}, origin: 'mqtt', ...extra } };
}

export const fromMqtt = { route: 'cloud', origin: 'mqtt' } as const;
