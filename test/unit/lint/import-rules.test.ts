import { createRequire } from 'node:module';
import path from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const config = require('../../../.dependency-cruiser.cjs') as IConfiguration;
const FIXTURE = path.resolve('test/fixtures/import-rules');

/** `rule: from → to` for every violation the repository's rules find in the fixture tree. */
async function violations(): Promise<string[]> {
  const reported = await cruise(
    ['src', 'adapters', 'emulators', 'bench'],
    {
      baseDir: FIXTURE,
      validate: true,
      ruleSet: { forbidden: config.forbidden ?? [] },
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
    },
    { ...config.options?.enhancedResolveOptions, extensionAlias: { '.js': ['.ts', '.js'] } },
  );
  const result = reported.output as ICruiseResult;
  return result.summary.violations
    .map((v) => `${v.rule.name}: ${v.from} → ${v.to.replace(/^.*node_modules\//, 'node_modules/')}`)
    .sort();
}

describe('import rules (.dependency-cruiser.cjs, npm run lint:deps)', () => {
  it('reports each broken rule in the fixture by name, and nothing the rules allow', async () => {
    expect(await violations()).toEqual(
      [
        'commands-not-to-upstream: src/commands/router-breaks-commands-not-to-upstream.ts → src/upstream/upstream.ts',
        'upstream-not-to-queue: src/upstream/batch-payload-breaks-upstream-not-to-queue.ts → src/queue/codec.ts',
        'upstream-queue-contract-types-only: src/upstream/forwarder-breaks-upstream-queue-contract-types-only.ts → src/queue/queue.ts',
        'adapters-see-only-the-contract: adapters/ble/ble-breaks-adapters-see-only-the-contract.ts → src/health/status.ts',
        'cloud-not-to-other-cloud: src/upstream/azure/cloud-breaks-cloud-not-to-other-cloud.ts → src/upstream/aws/protocol/topics.ts',
        'core-loads-adapters-through-registry: src/adapter-host-breaks-core-loads-adapters-through-registry.ts → adapters/sim/sim-adapter.ts',
        'emulators-lazily-by-index: src/runtime.ts → emulators/mqtt/broker.ts',
        'emulators-lazily-only: src/cli/emulate-azure.ts → emulators/aws/index.ts',
        'emulators-only-protocol: emulators/azure/emulator-breaks-emulators-only-protocol.ts → src/upstream/aws/session.ts',
        'no-circular: src/cycle-a-breaks-no-circular.ts → src/cycle-b-breaks-no-circular.ts',
        'protocol-is-pure: src/upstream/aws/protocol/protocol-breaks-protocol-is-pure.ts → src/upstream/aws/session.ts',
        'release-not-to-dev-dependencies: src/broker-breaks-release-not-to-dev-dependencies.ts → node_modules/aedes/aedes.js',
        'release-not-to-test-or-bench: src/main-breaks-release-not-to-test-or-bench.ts → bench/run.ts',
        'src-not-to-emulators: src/health/doctor-breaks-src-not-to-emulators.ts → emulators/mqtt/index.ts',
        'upstream-not-to-health: src/upstream/upstream-breaks-upstream-not-to-health.ts → src/health/status.ts',
      ].sort(),
    );
  });

  it('covers every rule of the configuration', async () => {
    const broken = new Set((await violations()).map((v) => v.slice(0, v.indexOf(':'))));
    expect([...broken].sort()).toEqual((config.forbidden ?? []).map((rule) => rule.name).sort());
  });
});
