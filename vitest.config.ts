import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Load tests share two cores with their servers; running files in parallel makes them
    // compete for CPU and turns latency assertions into noise.
    fileParallelism: false,
    pool: 'forks',
  },
});
