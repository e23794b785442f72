// Which engine this test run targets. The same suites run twice: on SQLite (always) and, when
// OMNI_TEST_POSTGRES_URL is set, as the vitest project "postgres" (OMNI_TEST_ENGINE=postgres), where
// every test gets a database of its own on that server (tests/support/postgres-each.ts).
import path from 'node:path';
import { tempDir } from './tmp.js';

export type TestEngine = 'sqlite' | 'postgres';

export const TEST_ENGINE: TestEngine = process.env.OMNI_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

export { TEST_SECRET_KEY, testSecretEnv } from './secret-env.js';

let currentUrl: string | undefined;
let handedOut = false;
let createAnother: (() => Promise<string>) | undefined;

/** Set by tests/support/postgres-each.ts around each test: its database, and how to make one more. */
export function setCurrentPostgresDatabase(url: string | undefined, another?: () => Promise<string>): void {
  currentUrl = url;
  handedOut = false;
  createAnother = another;
}

/** This test's database: a fresh file in `dir` on SQLite, the test's own database URL on PostgreSQL. */
export function testDatabase(dir: string = tempDir()): string {
  if (TEST_ENGINE === 'sqlite') return path.join(dir, 'omni.db');
  if (!currentUrl) throw new Error('no PostgreSQL database for this test: the postgres project must load tests/support/postgres-each.ts');
  handedOut = true;
  return currentUrl;
}

/**
 * A database no other call in this test got, for a test that sets up more than one installation: a file
 * in `dir` on SQLite; on PostgreSQL the test's own database the first time, then another copy of the
 * migrated template, dropped after the test like the first.
 */
export async function separateTestDatabase(dir: string = tempDir()): Promise<string> {
  if (TEST_ENGINE === 'sqlite' || !handedOut) return testDatabase(dir);
  if (!createAnother) throw new Error('no PostgreSQL server for this test: the postgres project must load tests/support/postgres-each.ts');
  return createAnother();
}
