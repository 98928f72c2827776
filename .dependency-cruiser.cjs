// Import rules of fieldgate (docs/architecture.md#dependency-rules), checked by `npm run lint:deps`:
//   depcruise src adapters emulators bench --config .dependency-cruiser.cjs
// test/unit/lint/import-rules.test.ts shows each rule fail on a fixture tree (test/fixtures/import-rules/).

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes the start order and the tests of each part depend on the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'cloud-not-to-other-cloud',
      comment:
        'A cloud connector never imports another cloud (azure, aws, mqtt); what they share lives in src/upstream/common/.',
      severity: 'error',
      from: { path: '^src/upstream/(azure|aws|mqtt)/' },
      to: { path: '^src/upstream/(azure|aws|mqtt)/', pathNot: '^src/upstream/$1/' },
    },
    {
      name: 'upstream-not-to-health',
      comment:
        'health reads the upstreams; an upstream gets what it reports through GatewayStatus (upstream.ts).',
      severity: 'error',
      from: { path: '^src/upstream/' },
      to: { path: '^src/health/' },
    },
    {
      name: 'upstream-not-to-queue',
      comment:
        "An upstream encodes the Envelopes it is handed (src/model.ts, whose readingJson is the stored layout) and never reaches into the queue's storage or codec; of src/queue it may import only the contract, queue.ts.",
      severity: 'error',
      from: { path: '^src/upstream/' },
      to: { path: '^src/queue/', pathNot: '^src/queue/queue[.]ts$' },
    },
    {
      name: 'upstream-queue-contract-types-only',
      comment:
        "What the forwarder takes from the queue's contract (Queue, Lease, Settlement) are types: no queue code runs inside src/upstream.",
      severity: 'error',
      from: { path: '^src/upstream/' },
      to: { path: '^src/queue/queue[.]ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'commands-not-to-upstream',
      comment:
        'The command router owns IncomingCommand (src/commands/incoming.ts); upstreams import it from there and hand commands to the router, which never imports an upstream.',
      severity: 'error',
      from: { path: '^src/commands/' },
      to: { path: '^src/upstream/' },
    },
    {
      name: 'protocol-is-pure',
      comment:
        'A protocol core (src/upstream/<cloud>/protocol/) is pure: it imports only its own protocol folder, the core vocabulary (model, errors) config types and rhea (its AMQP codec), and no I/O module.',
      severity: 'error',
      from: { path: '^src/upstream/(azure|aws)/protocol/' },
      to: {
        pathNot: [
          '^src/upstream/$1/protocol/',
          '^src/(model|errors)[.]ts$',
          '^src/config/',
          '(^|/)node_modules/rhea/',
          '^(node:)?(crypto|buffer|zlib)$',
        ],
      },
    },
    {
      name: 'emulators-only-protocol',
      comment:
        'Emulators are test doubles: of the daemon they may import only the protocol cores (src/upstream/<cloud>/protocol/) and logger/errors/model, never a connector, so a bug in a connector cannot hide behind the emulator.',
      severity: 'error',
      from: { path: '^emulators/' },
      to: {
        path: '^(src|adapters|bench|test)/',
        pathNot: ['^src/upstream/(azure|aws)/protocol/', '^src/(logger|errors|model)[.]ts$'],
      },
    },
    {
      name: 'src-not-to-emulators',
      comment:
        'The release carries no emulators: the daemon never imports one, except the lazy import() of the demo broker (src/runtime.ts) and of `fieldgate emulate` (src/cli/emulate-*.ts).',
      severity: 'error',
      from: { path: '^(src|adapters)/', pathNot: '^src/(runtime|cli/emulate-(azure|aws))[.]ts$' },
      to: { path: '^emulators/' },
    },
    {
      name: 'emulators-lazily-by-index',
      comment:
        'Where the daemon may load an emulator, it does so with import() of emulators/<name>/index.ts (its public API), or imports only types from it.',
      severity: 'error',
      from: { path: '^src/(runtime|cli/emulate-(azure|aws))[.]ts$' },
      to: { path: '^emulators/', pathNot: '^emulators/[^/]+/index[.]ts$' },
    },
    {
      name: 'emulators-lazily-only',
      severity: 'error',
      from: { path: '^src/(runtime|cli/emulate-(azure|aws))[.]ts$' },
      to: { path: '^emulators/', dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
    {
      name: 'release-not-to-test-or-bench',
      comment: 'src and adapters ship; test/ and bench/ do not.',
      severity: 'error',
      from: { path: '^(src|adapters)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'release-not-to-dev-dependencies',
      comment:
        'src and adapters run from the release, where devDependencies are pruned (aedes, @zwave-js/testing …).',
      severity: 'error',
      from: { path: '^(src|adapters)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'adapters-see-only-the-contract',
      comment:
        'adapters may import only src/model, src/errors and src/logger (as eslint no-restricted-imports).',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: '^src/', pathNot: '^src/(model|errors|logger)[.]ts$' },
    },
    {
      name: 'core-loads-adapters-through-registry',
      comment:
        'src loads concrete adapters only through adapters/registry.ts (as eslint no-restricted-imports).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^adapters/', pathNot: '^adapters/(adapter|registry)[.]ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    // Resolve packages through their "exports" as Node does, so that dependency types (npm, npm-dev) are known.
    enhancedResolveOptions: {
      extensions: ['.ts', '.js'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
