import { randomUUID } from 'node:crypto';
import { FieldgateError } from '../errors.js';
import { readJson, reply } from './http.js';
import type { Route } from './route.js';

function notFound(id: string): FieldgateError {
  return new FieldgateError('FG_NOT_FOUND', `no device ${id}; \`fieldgate devices\` lists them`);
}

/** Devices: list, show, rename, remove, and local commands. */
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
    handle: ({ runtime, res, params: [id = ''] }) => {
      const entry = runtime.devices.get(id);
      if (entry === undefined) throw notFound(id);
      reply(res, 200, entry.info);
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/devices\/([^/]+)\/rename$/,
    handle: async ({ runtime, req, res, params: [id = ''] }) => {
      const { name } = await readJson(req);
      if (typeof name !== 'string' || name.trim() === '')
        throw new FieldgateError('FG_USAGE', 'name must be a non-empty string');
      if (!(await runtime.renameDevice(id, name.trim()))) throw notFound(id);
      reply(res, 200, runtime.devices.get(id)?.info);
    },
  },
  {
    method: 'DELETE',
    path: /^\/v1\/devices\/([^/]+)$/,
    handle: async ({ runtime, res, params: [id = ''] }) => {
      if (!(await runtime.removeDevice(id))) throw notFound(id);
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
      const result = runtime.sendCommand({
        id,
        device: body.device,
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
