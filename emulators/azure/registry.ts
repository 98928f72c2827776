import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * The emulated hub's identity registry (docs/clouds/azure-iot-hub.md#what-the-emulator-must-do): devices with
 * their keys or certificate
 * thumbprints, and shared access policies with their permissions. Loaded from YAML or built in code.
 */

const deviceSchema = z.strictObject({
  primaryKey: z.string().optional().describe('Base64 symmetric key.'),
  secondaryKey: z.string().optional(),
  /** SHA-256 (or SHA-1) hex thumbprint of the device's client certificate. */
  thumbprint: z.string().optional(),
  enabled: z.boolean().default(true),
});

const policySchema = z.strictObject({
  key: z.string().describe('Base64 policy key.'),
  permissions: z.array(z.enum(['DeviceConnect', 'ServiceConnect', 'RegistryRead', 'RegistryWrite'])).min(1),
});

export const registryFileSchema = z.strictObject({
  hostName: z.string().default('fieldgate-emulator.azure-devices.net'),
  devices: z.record(z.string(), deviceSchema).default({}),
  policies: z.record(z.string(), policySchema).default({}),
});

export type DeviceEntry = z.output<typeof deviceSchema>;
export type PolicyEntry = z.output<typeof policySchema>;
export type RegistryFile = z.input<typeof registryFileSchema>;

export class HubRegistry {
  readonly hostName: string;
  readonly #devices = new Map<string, DeviceEntry>();
  readonly #policies = new Map<string, PolicyEntry>();

  constructor(file: RegistryFile = {}) {
    const parsed = registryFileSchema.parse(file);
    this.hostName = parsed.hostName;
    for (const [id, device] of Object.entries(parsed.devices)) this.#devices.set(id, device);
    for (const [name, policy] of Object.entries(parsed.policies)) this.#policies.set(name, policy);
  }

  static async load(path: string): Promise<HubRegistry> {
    return new HubRegistry(parse(await readFile(path, 'utf8')) as RegistryFile);
  }

  device(id: string): DeviceEntry | undefined {
    return this.#devices.get(id);
  }

  policy(name: string): PolicyEntry | undefined {
    return this.#policies.get(name);
  }

  addDevice(id: string, entry: Partial<DeviceEntry>): void {
    this.#devices.set(id, deviceSchema.parse(entry));
  }

  addPolicy(name: string, entry: PolicyEntry): void {
    this.#policies.set(name, policySchema.parse(entry));
  }
}
