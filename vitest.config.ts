// Two projects: fast unit tests in parallel, and integration tests that share one real
// Asterisk 22 (started by the global setup) and therefore run one file at a time.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './tests/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts', 'machines/**/*.test.ts'],
          environment: 'node',
          // Repository tests run on both engines: a PostgreSQL server of the run's own.
          globalSetup: ['./tests/support/postgres-setup.ts'],
          // Not a speed target (those are in `npm run bench`): room for the tests that start whole
          // services on a loaded 2-core machine (security-redteam starts four: ~1 s alone, over the
          // default 5 s once on a loaded CI run); a hang still fails.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['./tests/support/postgres-setup.ts', './tests/integration/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
