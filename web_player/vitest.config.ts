// `npm test` = unit tests (node) + browser tests (headless Debian Chromium via playwright-core).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/browser/setup.ts'],
          environment: 'node',
          testTimeout: 240_000,
          hookTimeout: 300_000,
          // one Chromium at a time: the machine has 2 shared cores
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
