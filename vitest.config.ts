import { defineConfig } from 'vitest/config';

const exclude = ['**/node_modules/**'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['*/src/**/*.test.ts'],
          exclude: [...exclude, '**/*.e2e.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['*/src/**/*.e2e.test.ts'],
          exclude,
          // Starts the real local stack once (or reuses a running one) and fails loudly if it cannot.
          globalSetup: ['stack/src/e2e-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
