import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HubRegistry } from './registry.js';
import { checkServiceToken, type ServicePermission } from './service-auth.js';
import { TwinPatchError, type TwinDocument, type TwinStore } from './twin-store.js';

export interface ServiceRestOptions {
  registry: HubRegistry;
  twins: TwinStore;
  hostNames: () => readonly string[];
  now: () => number;
  /** The hub's direct-method call (status 400/404/504 errors carry `status`). */
  invokeMethod: (
    deviceId: string,
    method: string,
    payload: unknown,
    timeoutMs: number,
  ) => Promise<{ status: number; payload: unknown }>;
}

/** The hub's error codes for the answers below (https://learn.microsoft.com/rest/api/iothub/common-error-codes). */
const ERROR_CODES: Record<number, [number, string]> = {
  400: [400004, 'ArgumentInvalid'],
  401: [401002, 'IotHubUnauthorizedAccess'],
  404: [404103, 'DeviceNotOnline'],
  412: [412002, 'PreconditionFailed'],
  504: [504101, 'GatewayTimeout'],
};

/**
 * The hub's service REST routes that `azure-iothub` calls (docs/clouds/azure-iot-hub.md#service-side):
 * `GET /twins/{id}` (RegistryRead) answers the twin with its `etag`; `PATCH /twins/{id}` (RegistryWrite)
 * merges `tags` and `properties.desired` when `If-Match` is `*` or the current etag (412 otherwise, 400 for
 * a key or depth the hub refuses); `POST /twins/{id}/methods` (ServiceConnect) invokes a direct method with
 * `responseTimeoutInSeconds` (default 30) and answers `{ status, payload }`, or 400/404/504 with the
 * hub's error body. Every request needs a policy SAS token in `Authorization`; 401 otherwise.
 */
export class ServiceRest {
  readonly #options: ServiceRestOptions;
  readonly #tags = new Map<string, { document: TwinDocument; version: number }>();

  constructor(options: ServiceRestOptions) {
    this.#options = options;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://hub');
    // A module's twin and methods are under its device: `/twins/{d}/modules/{m}[/methods]`.
    const match = /^\/twins\/([^/]+)(?:\/modules\/([^/]+))?(\/methods)?\/?$/.exec(url.pathname);
    const route = match === null ? '' : `${req.method} ${match[3] === undefined ? 'twin' : 'methods'}`;
    const permission: ServicePermission | undefined = {
      'GET twin': 'RegistryRead' as const,
      'PATCH twin': 'RegistryWrite' as const,
      'POST methods': 'ServiceConnect' as const,
    }[route];
    if (match === null || permission === undefined) {
      res.writeHead(404).end();
      return;
    }
    const auth = checkServiceToken(
      this.#options.registry,
      req.headers.authorization ?? '',
      this.#options.hostNames(),
      permission,
      Math.floor(this.#options.now() / 1000),
    );
    if (!auth.ok) return this.#error(res, 401, auth.reason);
    // The identity: `{d}`, or `{d}/{m}` for a module (as the registry and the device side name it).
    const deviceId =
      match[2] === undefined
        ? decodeURIComponent(match[1]!)
        : `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2])}`;
    if (this.#options.registry.device(deviceId) === undefined) {
      const [errorCode, what] =
        match[2] === undefined ? [404001, 'DeviceNotFound'] : [404010, 'ModuleNotFound'];
      return json(res, 404, { Message: JSON.stringify({ errorCode, message: `${what}: ${deviceId}` }) });
    }
    const body = await readJson(req);
    switch (route) {
      case 'GET twin':
        return this.#sendTwin(res, deviceId, this.#options.twins.read(deviceId));
      case 'PATCH twin':
        return this.#patchTwin(req, res, deviceId, body);
      default:
        return this.#invoke(res, deviceId, body);
    }
  }

  #patchTwin(req: IncomingMessage, res: ServerResponse, deviceId: string, body: unknown): void {
    const ifMatch = (req.headers['if-match'] ?? '*').replace(/^"|"$/g, '');
    if (ifMatch !== '*' && ifMatch !== this.#etag(deviceId)) {
      return this.#error(res, 412, `etag ${ifMatch} is not the twin's current one`);
    }
    const patch = (body ?? {}) as { tags?: unknown; properties?: { desired?: unknown } };
    try {
      const desired = patch.properties?.desired;
      if (desired !== undefined) this.#options.twins.updateDesired(deviceId, desired);
      if (patch.tags !== undefined) this.#mergeTags(deviceId, patch.tags);
    } catch (e) {
      if (!(e instanceof TwinPatchError)) throw e;
      return this.#error(res, 400, e.message);
    }
    this.#sendTwin(res, deviceId, this.#options.twins.get(deviceId));
  }

  async #invoke(res: ServerResponse, deviceId: string, body: unknown): Promise<void> {
    const request = (body ?? {}) as {
      methodName?: unknown;
      payload?: unknown;
      responseTimeoutInSeconds?: unknown;
    };
    if (typeof request.methodName !== 'string' || request.methodName === '') {
      return this.#error(res, 400, 'methodName is required');
    }
    const timeoutS =
      typeof request.responseTimeoutInSeconds === 'number' ? request.responseTimeoutInSeconds : 30;
    try {
      const reply = await this.#options.invokeMethod(
        deviceId,
        request.methodName,
        request.payload,
        timeoutS * 1000,
      );
      json(res, 200, reply);
    } catch (e) {
      const status = (e as { status?: unknown }).status;
      if (typeof status !== 'number') throw e;
      this.#error(res, status, (e as Error).message);
    }
  }

  #sendTwin(res: ServerResponse, deviceId: string, state: ReturnType<TwinStore['get']>): void {
    const etag = this.#etag(deviceId);
    json(
      res,
      200,
      {
        ...twinIds(deviceId),
        etag,
        version: state.desired.$version + state.reported.$version + (this.#tags.get(deviceId)?.version ?? 0),
        status: 'enabled',
        tags: this.#tags.get(deviceId)?.document ?? {},
        properties: { desired: state.desired, reported: state.reported },
      },
      { etag: `"${etag}"` },
    );
  }

  /** Changes with every desired or tags update, as the hub's twin etag does (reported changes keep it). */
  #etag(deviceId: string): string {
    const desired = this.#options.twins.get(deviceId).desired.$version;
    const tags = this.#tags.get(deviceId)?.version ?? 0;
    return Buffer.from(`${desired}.${tags}`).toString('base64');
  }

  #mergeTags(deviceId: string, tags: unknown): void {
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
      throw new TwinPatchError(400, 'tags must be a JSON object');
    }
    const current = this.#tags.get(deviceId) ?? { document: {}, version: 0 };
    const document = { ...current.document };
    for (const [key, value] of Object.entries(tags as TwinDocument)) {
      if (value === null) delete document[key];
      else document[key] = value;
    }
    this.#tags.set(deviceId, { document, version: current.version + 1 });
  }

  #error(res: ServerResponse, status: number, message: string): void {
    const [errorCode, name] = ERROR_CODES[status] ?? [status * 1000, 'Error'];
    json(res, status, {
      Message: JSON.stringify({ errorCode, message: `${name}: ${message}` }),
      ExceptionMessage: '',
    });
  }
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    .end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `deviceId`, and `moduleId` for a module's twin (`{d}/{m}`). */
function twinIds(identity: string): { deviceId: string; moduleId?: string } {
  const [deviceId, moduleId] = identity.split('/') as [string, string | undefined];
  return moduleId === undefined ? { deviceId } : { deviceId, moduleId };
}
