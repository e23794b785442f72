// Which engine this test run targets. The same suites run twice: on SQLite (always) and, when
// OMNI_TEST_POSTGRES_URL is set, as the vitest project "postgres" (OMNI_TEST_ENGINE=postgres), where
// every test gets a database of its own on that server (tests/support/postgres-each.ts).
import path from 'node:path';
import { tempDir } from './tmp.js';

export type TestEngine = 'sqlite' | 'postgres';

export const TEST_ENGINE: TestEngine = process.env.OMNI_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

/** A base64 32-byte key the PostgreSQL runs put where omni looks for it (tests only). */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

let currentUrl: string | undefined;

export function setCurrentPostgresDatabase(url: string | undefined): void {
  currentUrl = url;
}

/** This test's database: a fresh file in `dir` on SQLite, the test's own database URL on PostgreSQL. */
export function testDatabase(dir: string = tempDir()): string {
  if (TEST_ENGINE === 'sqlite') return path.join(dir, 'omni.db');
  if (!currentUrl) throw new Error('no PostgreSQL database for this test: the postgres project must load tests/support/postgres-each.ts');
  return currentUrl;
}
