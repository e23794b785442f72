// Databases on the test server named by OMNI_TEST_POSTGRES_URL (a role that may CREATE DATABASE).
import crypto from 'node:crypto';
import pg from 'pg';

export function testServerUrl(): string | undefined {
  const url = process.env.OMNI_TEST_POSTGRES_URL?.trim();
  return url ? url : undefined;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = testServerUrl();
  if (!url) throw new Error('OMNI_TEST_POSTGRES_URL is not set');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a database and returns its URL (the server URL with the database name replaced): empty, or
 * a copy of `template` (a migrated one, so that each test does not pay for the migrations).
 */
export async function createPostgresDatabase(template?: string): Promise<string> {
  const name = `omni_t_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database "${name}"${template ? ` template "${template}"` : ''}`));
  const url = new URL(testServerUrl()!);
  url.pathname = `/${name}`;
  return url.href;
}

export async function dropPostgresDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  // WITH (FORCE) ends the connections still open on it. A role without pg_signal_backend cannot end
  // an autovacuum worker there: that one finishes within moments, so try again briefly.
  for (let attempt = 1; ; attempt++) {
    try {
      await admin((c) => c.query(`drop database if exists "${name}" with (force)`));
      return;
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Runs SQL on one database of the test server (for checks the CLI does not expose). */
export async function queryPostgres<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
