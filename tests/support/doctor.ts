// Fixtures for `omni doctor` tests: the Smartchat parameters, hand edits that the commands would
// refuse (a vanished catalog entry, a revocation), a closed port, and a Rasa-style Helper.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/connection.js';
import { addCatalogEntry, findCatalogEntry } from '../../src/db/catalogs.js';
import { setParameter, unsetParameter } from '../../src/db/parameters.js';
import type { CheckResult } from '../../src/doctor/model.js';

/**
 * Catalogs HQ/Social/CS›DM (as seedInteraction makes them), a contract, and parameters 118 315 317
 * 390 447 pointing at them. `params` overrides values; null leaves a parameter unset. Without
 * `contract`, no contract exists (and 118 must be given as null).
 */
export async function seedSmartchat(dbPath: string, params: Record<number, string | null> = {}, opts: { contract?: boolean } = {}): Promise<void> {
  const db = await openDatabase(dbPath);
  try {
    const k = db.kysely;
    const now = new Date().toISOString();
    const ensure = async (kind: 'unit' | 'group' | 'portfolio' | 'contract', name: string) =>
      findCatalogEntry(k, kind, name).catch(() => addCatalogEntry(k, kind, name, now));
    const unit = await ensure('unit', 'HQ');
    await ensure('group', 'Social');
    const portfolio = await ensure('portfolio', 'CS');
    const activity = await findCatalogEntry(k, 'activity', 'DM').catch(() => addCatalogEntry(k, 'activity', 'DM', now, portfolio.id));
    const contract = opts.contract === false ? undefined : await ensure('contract', 'Standard');
    const origin = await findCatalogEntry(k, 'origin', 'Twitter');
    const values: Record<number, string | null> = {
      118: contract ? String(contract.id) : null,
      315: String(origin.id),
      317: String(activity.id),
      390: String(unit.id),
      447: '12',
      ...params,
    };
    for (const [n, v] of Object.entries(values)) {
      if (v === null) await unsetParameter(k, Number(n));
      else await setParameter(k, Number(n), v, now);
    }
  } finally {
    await db.close();
  }
}

/**
 * Runs raw SQL with foreign keys off: what a hand edit of the file can do and omni's commands cannot.
 * PostgreSQL cannot turn them off for a session (short of a superuser), so there the test's own
 * database loses its foreign keys first: the same dangling references, in a database dropped after.
 */
export async function handEdit(dbPath: string, ...statements: string[]): Promise<void> {
  const db = await openDatabase(dbPath);
  try {
    if (db.engine === 'postgres') {
      const fks = await sql<{ t: string; name: string }>`SELECT conrelid::regclass::text AS t, conname AS name FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`.execute(db.kysely);
      for (const fk of fks.rows) await sql.raw(`ALTER TABLE ${fk.t} DROP CONSTRAINT "${fk.name}"`).execute(db.kysely);
      for (const s of statements) await sql.raw(s).execute(db.kysely);
      return;
    }
    db.sqlite.pragma('foreign_keys = OFF');
    for (const s of statements) db.sqlite.exec(s);
  } finally {
    await db.close();
  }
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A Rasa-style REST channel: POST /webhooks/rest/webhook answers a message; GET there is 405, as in Rasa. */
export async function startFakeHelper() {
  const requests: Array<{ method: string; path: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      requests.push({ method: req.method ?? '', path, body });
      if (path !== '/webhooks/rest/webhook') return void res.writeHead(404).end();
      if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ recipient_id: 'x', text: 'Hello!' }]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/rest/webhook`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface DoctorJson {
  ok: boolean;
  checks: CheckResult[];
}

/** Check ids of one interaction (or the global ones) with this status, in report order. */
export function idsWith(report: DoctorJson, status: CheckResult['status'], interactionId?: number): string[] {
  return report.checks.filter((c) => c.status === status && c.interactionId === interactionId).map((c) => c.id);
}

export function check(report: DoctorJson, id: string, interactionId?: number): CheckResult {
  const c = report.checks.find((x) => x.id === id && x.interactionId === interactionId);
  if (!c) throw new Error(`no check '${id}' for ${interactionId ?? 'global'} in ${JSON.stringify(report.checks.map((x) => [x.id, x.interactionId]))}`);
  return c;
}
