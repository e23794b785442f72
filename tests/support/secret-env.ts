// The secret key a test's CLI or seed needs for its database: a PostgreSQL URL has no key file beside
// it, so the runs on PostgreSQL pass one through OMNI_SECRET_KEY. No vitest import here: the benchmarks
// bundle tests/support/seed.ts, which reads this.
import { parseDbLocation } from '../../src/db/location.js';

/** A base64 32-byte key the PostgreSQL runs put where omni looks for it (tests only). */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

/** The environment that gives omni the key of `where`: OMNI_SECRET_KEY for a PostgreSQL URL, nothing for a SQLite file (its key sits beside it). */
export function testSecretEnv(where: string): Record<string, string> {
  return parseDbLocation(where).engine === 'postgres' ? { OMNI_SECRET_KEY: TEST_SECRET_KEY } : {};
}
