// Global setup of the vitest project "sqlite" (always present: it runs once per `npm test`). The
// PostgreSQL suites need OMNI_TEST_POSTGRES_URL: without it a developer run skips them with one line
// saying how to run them; CI (CI=true) never skips them.
import pg from 'pg';

export default async function setup(): Promise<void> {
  const url = process.env.OMNI_TEST_POSTGRES_URL?.trim();
  const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0';
  if (!url) {
    if (ci) {
      throw new Error('CI is set but OMNI_TEST_POSTGRES_URL is not: CI must run the PostgreSQL suites; run bash .ci/run (it prepares the server) or export OMNI_TEST_POSTGRES_URL');
    }
    process.stderr.write(
      'PostgreSQL suites skipped: set OMNI_TEST_POSTGRES_URL=postgres://user:password@127.0.0.1:5432/postgres (a role allowed to CREATE DATABASE) to run them too\n',
    );
    return;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(`OMNI_TEST_POSTGRES_URL is set but the server cannot be used: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
