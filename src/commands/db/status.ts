// `omni db status` and `omni db path` (both engines; a URL's password is always masked). Status opens (and so migrates) the database, but never
// creates the key file: reporting where the key would come from must not change anything.
import fs from 'node:fs';
import type { Context } from '../../cli/context.js';
import { latestSchemaVersion, migrationStatus, schemaVersion, type Db } from '../../db/connection.js';
import { isPostgresUrl } from '../../db/location.js';
import { serverVersion } from '../../db/postgres.js';
import { databaseCounts, storageInfo } from '../../db/stats.js';
import { keyFilePath } from '../../secrets.js';
import { printJson, style } from '../../cli/output.js';

export interface SecretKeyInfo {
  source: 'OMNI_SECRET_KEY' | 'key file';
  /** The key file (beside a SQLite database; per host for PostgreSQL), used only when OMNI_SECRET_KEY is unset. */
  keyFile: string;
  keyFileExists: boolean;
  /** Octal permissions of the key file, e.g. "0600"; null when it does not exist. */
  keyFileMode: string | null;
  /** Why the key in use cannot work, or null. Checked the way src/secrets.ts loads it. */
  problem: string | null;
}

function decodedLength(b64: string): number {
  return Buffer.from(b64.trim(), 'base64').length;
}

export function secretKeyInfo(dbPath: string, env: NodeJS.ProcessEnv): SecretKeyInfo {
  const keyFile = keyFilePath(dbPath, env);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(keyFile);
  } catch {
    stat = undefined;
  }
  const fromEnv = Boolean(env.OMNI_SECRET_KEY && env.OMNI_SECRET_KEY.trim() !== '');
  let problem: string | null = null;
  if (fromEnv) {
    const n = decodedLength(env.OMNI_SECRET_KEY!);
    if (n !== 32) problem = `OMNI_SECRET_KEY decodes to ${n} bytes, not 32`;
  } else if (stat) {
    try {
      const n = decodedLength(fs.readFileSync(keyFile, 'utf8'));
      if (n !== 32) problem = `the key file decodes to ${n} bytes, not 32`;
      else if (stat.mode & 0o077) problem = 'the key file is readable by other users; chmod 600 it';
    } catch (err) {
      problem = `cannot read the key file: ${(err as Error).message}`;
    }
  } else if (isPostgresUrl(dbPath)) {
    problem = 'missing: omni never creates it for PostgreSQL; copy the installation\'s key there on every host or set OMNI_SECRET_KEY';
  }
  return {
    source: fromEnv ? 'OMNI_SECRET_KEY' : 'key file',
    keyFile,
    keyFileExists: Boolean(stat),
    keyFileMode: stat ? '0' + (stat.mode & 0o777).toString(8) : null,
    problem,
  };
}

async function engineVersion(db: Db): Promise<string> {
  if (db.engine === 'postgres') return serverVersion(db.kysely);
  return String(db.sqlite.prepare('select sqlite_version() as v').pluck().get());
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export async function statusAction(ctx: Context, _args: [], opts: { json?: boolean }): Promise<void> {
  const db = await ctx.db();
  const migrations = (await migrationStatus(db)).map((m) => ({ name: m.name, appliedAt: m.executedAt ? m.executedAt.toISOString() : null }));
  const storage = await storageInfo(db);
  const status = {
    engine: db.engine,
    /** PostgreSQL: the server's version; SQLite: the library's. */
    serverVersion: await engineVersion(db),
    /** SQLite: the file; PostgreSQL: the URL with its password masked. */
    path: db.path,
    sizeBytes: storage.sizeBytes,
    walBytes: storage.walBytes,
    schema: { version: await schemaVersion(db), applied: migrations.filter((m) => m.appliedAt !== null).length, known: latestSchemaVersion() },
    migrations,
    journalMode: storage.journalMode,
    secretKey: secretKeyInfo(ctx.dbPath, ctx.env),
    counts: await databaseCounts(db.kysely),
  };
  if (opts.json) return printJson(ctx, status);

  const s = style(ctx);
  const { schema, secretKey: key, counts } = status;
  const line = (label: string, value: string) => ctx.out(`${label.padEnd(13)} ${value}`);
  line('database', status.path);
  line('engine', `${status.engine === 'postgres' ? 'PostgreSQL' : 'SQLite'} ${status.serverVersion}`);
  line('size', `${bytes(status.sizeBytes)}${status.walBytes ? ` + ${bytes(status.walBytes)} write-ahead log` : ''}`);
  line('schema', `${schema.applied}/${schema.known}${schema.applied === schema.known ? ' (up to date)' : s.yellow(' (migrations pending)')}`);
  for (const m of migrations) line('  migration', `${m.name}  ${m.appliedAt ?? s.yellow('pending')}`);
  if (status.journalMode !== null) line('journal mode', status.journalMode);
  const keyWhere =
    key.source === 'OMNI_SECRET_KEY'
      ? 'OMNI_SECRET_KEY'
      : `key file ${key.keyFile} ${key.keyFileExists ? `(${key.keyFileMode})` : status.engine === 'postgres' ? '' : '(not created yet; omni creates it the first time it needs the key)'}`.trimEnd();
  line('secret key', keyWhere + (key.problem ? s.red(`: ${key.problem}`) : ''));
  line('interactions', `${counts.interactions.live} live, ${counts.interactions.deleted} deleted`);
  line('tickets', `${counts.tickets.open} open, ${counts.tickets.closed} closed`);
  line('requesters', String(counts.requesters));
  line('messages', String(counts.messages));
}
