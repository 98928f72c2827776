import { defineConfig } from 'vitest/config';

/**
 * `npm run test:reliability`: long scenarios against the real daemon (minutes, not seconds), kept out of
 * `npm test` by their `.reliability.ts` suffix.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.reliability.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
