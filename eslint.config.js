// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Fixture generators (test/fixtures/**/*.mjs) are plain scripts run by hand, outside the TS projects.
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '**/*.cjs',
      'eslint.config.js',
      'test/fixtures/**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Release scripts (scripts/*.mjs): plain Node scripts run by `npm run package`, outside the TS projects.
    files: ['scripts/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: { process: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    // The status page's browser modules (web/): plain JavaScript served as is, outside the TS projects.
    files: ['web/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'fetch',
          'EventSource',
          'CSS',
          'Node',
          'TextDecoderStream',
          'AbortController',
          'URLSearchParams',
          'setInterval',
          'clearInterval',
          'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // docs/architecture.md#dependency-rules: adapters use only the core vocabulary, never the daemon's
    // internals.
    files: ['adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+src/(?!(model|errors|logger)\\.js$)',
              message: 'adapters may import only src/model, src/errors and src/logger.',
            },
          ],
        },
      ],
    },
  },
  {
    // docs/architecture.md#dependency-rules: an adapter's options schema is loaded with the config, for every
    // gateway, so it may not import a radio library (those load lazily, only when the radio is configured).
    files: ['adapters/*/options.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+src/(?!(model|errors|logger)\\.js$)',
              message: 'adapters may import only src/model, src/errors and src/logger.',
            },
            {
              regex: '^(@abandonware/|zigbee-herdsman|zwave-js|@zwave-js/|serialport|@serialport/)',
              message: 'an options schema is loaded on every gateway: no radio library here.',
            },
            {
              regex: '^\\./(?!options\\.js$)',
              message: 'an options schema imports no other module of its adapter (they may load the radio).',
            },
          ],
        },
      ],
    },
  },
  {
    // docs/architecture.md#dependency-rules: src loads concrete adapters only through adapters/registry.ts.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+adapters/(?!(adapter|registry)\\.js$)',
              message: 'load concrete adapters through adapters/registry.ts.',
            },
          ],
        },
      ],
    },
  },
  { files: ['test/**/*.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
);
