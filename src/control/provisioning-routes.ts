import type { Adapter } from '../../adapters/adapter.js';
import { FieldgateError } from '../errors.js';
import type { GatewayApi } from './gateway-api.js';
import { readJson, reply } from './http.js';
import type { Route } from './route.js';

/** The running adapter `name`, when it keeps a provisioning list (Z-Wave SmartStart). */
function provisioner(
  runtime: GatewayApi,
  name: string,
): Adapter & Required<Pick<Adapter, 'provision' | 'provisioned' | 'unprovision'>> {
  const instance = runtime.adapterOf(name);
  if (instance === undefined) throw new FieldgateError('FG_NOT_FOUND', `no running adapter ${name}`);
  if (
    instance.provision === undefined ||
    instance.provisioned === undefined ||
    instance.unprovision === undefined
  )
    throw new FieldgateError('FG_USAGE', `adapter ${name} has no SmartStart provisioning list`);
  return instance as Adapter & Required<Pick<Adapter, 'provision' | 'provisioned' | 'unprovision'>>;
}

/** SmartStart provisioning: list, add (QR code or DSK), remove by DSK. */
export const provisioningRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/v1\/adapters\/([^/]+)\/provisioning$/,
    handle: ({ runtime, res, params: [name = ''] }) =>
      reply(res, 200, { entries: provisioner(runtime, name).provisioned() }),
  },
  {
    method: 'POST',
    path: /^\/v1\/adapters\/([^/]+)\/provisioning$/,
    handle: async ({ runtime, req, res, log, params: [name = ''] }) => {
      const { code } = await readJson(req);
      if (typeof code !== 'string' || code.trim() === '')
        throw new FieldgateError('FG_USAGE', 'code must be the SmartStart QR code digits or the DSK');
      const entry = await provisioner(runtime, name).provision(code);
      log.info({ adapter: name, dsk: entry.dsk }, 'SmartStart entry added.');
      reply(res, 200, entry);
    },
  },
  {
    method: 'DELETE',
    path: /^\/v1\/adapters\/([^/]+)\/provisioning\/([^/]+)$/,
    handle: async ({ runtime, res, log, params: [name = '', dsk = ''] }) => {
      if (!(await provisioner(runtime, name).unprovision(dsk)))
        throw new FieldgateError('FG_NOT_FOUND', `no SmartStart entry ${dsk} on ${name}`);
      log.info({ adapter: name, dsk }, 'SmartStart entry removed.');
      reply(res, 200, { removed: dsk });
    },
  },
];
