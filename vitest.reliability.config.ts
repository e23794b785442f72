// `npm run test:reliability`: the long variants of tests/reliability (crashes under load, fuzzing,
// contention, an unwritable database). `npm test` runs the same files at a small scale.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/reliability/**/*.test.ts'],
    env: { OMNI_RELIABILITY: 'long' },
    testTimeout: 600_000,
    hookTimeout: 60_000,
    // Each test drives real listener processes: one at a time keeps the two cores for them.
    maxWorkers: 1,
  },
});
