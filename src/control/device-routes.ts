import { randomUUID } from 'node:crypto';
import { FieldgateError } from '../errors.js';
import type { GatewayApi } from './gateway-api.js';
import { readJson, reply } from './http.js';
import type { Route } from './route.js';

function notFound(id: string): FieldgateError {
  return new FieldgateError('FG_NOT_FOUND', `no device ${id}; \`fieldgate devices\` lists them`);
}

/** The id of the device an operator named by id or by the name `devices rename` gave it. */
function deviceId(runtime: GatewayApi, idOrName: string): string {
  const id = runtime.devices.resolve(idOrName);
  if (id === undefined) throw notFound(idOrName);
  return id;
}

/** Devices: list, show, rename, interview, remove, and local commands. */
export const deviceRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/v1\/devices$/,
    handle: ({ runtime, res, url }) => {
      const adapter = url.searchParams.get('adapter') ?? undefined;
      if (url.searchParams.get('discovered') !== '1') {
        return reply(res, 200, { devices: runtime.devices.list(adapter) });
      }
      if (adapter === undefined) throw new FieldgateError('FG_USAGE', '--discovered needs --adapter');
      const instance = runtime.adapterOf(adapter);
      if (instance === undefined) throw new FieldgateError('FG_NOT_FOUND', `no running adapter ${adapter}`);
      if (instance.discoveredDevices === undefined) {
        throw new FieldgateError('FG_USAGE', `adapter ${adapter} has no discovery list`);
      }
      return reply(res, 200, { devices: instance.discoveredDevices() });
    },
  },
  {
    method: 'GET',
    path: /^\/v1\/devices\/([^/]+)$/,
    handle: ({ runtime, res, params: [idOrName = ''] }) => {
      const id = deviceId(runtime, idOrName);
      const entry = runtime.devices.get(id);
      if (entry === undefined) throw notFound(idOrName);
      // `current`: the last reading of each value, so `devices show` answers "what does it say now".
      reply(res, 200, { ...entry.info, current: runtime.devices.currentValues(id) });
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/devices\/([^/]+)\/rename$/,
    handle: async ({ runtime, req, res, params: [idOrName = ''] }) => {
      const id = deviceId(runtime, idOrName);
      const { name } = await readJson(req);
      if (typeof name !== 'string' || name.trim() === '')
        throw new FieldgateError('FG_USAGE', 'name must be a non-empty string');
      if (!(await runtime.renameDevice(id, name.trim()))) throw notFound(id);
      reply(res, 200, runtime.devices.get(id)?.info);
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/devices\/([^/]+)\/interview$/,
    handle: async ({ runtime, res, params: [idOrName = ''] }) => {
      const id = deviceId(runtime, idOrName);
      const entry = runtime.devices.get(id);
      if (entry === undefined) throw notFound(idOrName);
      const adapter = runtime.adapterOf(entry.adapter);
      if (adapter?.interview === undefined) {
        throw new FieldgateError('FG_USAGE', `adapter ${entry.adapter} does not interview devices`);
      }
      reply(res, 200, await adapter.interview(id));
    },
  },
  {
    // Which file `devices rename` edits: the one the daemon runs from.
    method: 'GET',
    path: /^\/v1\/config$/,
    handle: ({ runtime, res }) => reply(res, 200, { file: runtime.configFile ?? null }),
  },
  {
    // The config file changed (`devices rename` wrote it): load and apply it as SIGHUP does.
    method: 'POST',
    path: /^\/v1\/reload$/,
    handle: async ({ runtime, res }) => {
      if (runtime.requestReload === undefined)
        throw new FieldgateError('FG_USAGE', 'this gateway was not started from a config file');
      reply(res, 200, await runtime.requestReload());
    },
  },
  {
    method: 'DELETE',
    path: /^\/v1\/devices\/([^/]+)$/,
    handle: async ({ runtime, res, params: [idOrName = ''] }) => {
      const id = deviceId(runtime, idOrName);
      if (!(await runtime.removeDevice(id))) throw notFound(idOrName);
      reply(res, 200, { removed: id });
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/commands$/,
    handle: async ({ runtime, req, res }) => {
      const body = await readJson(req);
      if (typeof body.device !== 'string' || typeof body.name !== 'string')
        throw new FieldgateError('FG_USAGE', 'device and name are required strings');
      const args =
        typeof body.args === 'object' && body.args !== null && !Array.isArray(body.args)
          ? (body.args as Record<string, unknown>)
          : {};
      const ttlMs = typeof body.ttlMs === 'number' ? body.ttlMs : undefined;
      const waitMs = typeof body.waitMs === 'number' ? body.waitMs : Infinity;
      const id = randomUUID();
      // A name given with `devices rename` works as well as the id; an unknown one is left to the router,
      // which answers it `rejected` like any command for an unknown device.
      const device = runtime.devices.resolve(body.device) ?? body.device;
      const result = runtime.sendCommand({
        id,
        device,
        name: body.name,
        args,
        ...(ttlMs === undefined ? {} : { expiresAt: Date.now() + ttlMs }),
      });
      // A command for a sleeping device is held until it wakes; the caller may not want to wait that long.
      let timer: NodeJS.Timeout | undefined;
      const pending = new Promise<{ id: string; status: 'pending' }>((resolve) => {
        if (Number.isFinite(waitMs)) timer = setTimeout(() => resolve({ id, status: 'pending' }), waitMs);
      });
      reply(res, 200, await Promise.race([result, pending]));
      clearTimeout(timer);
    },
  },
];
