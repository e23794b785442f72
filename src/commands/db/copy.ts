// `omni db copy --from <sqlite path|url> --to <postgres url>`: moves an installation to PostgreSQL,
// with its secret key. The source is only read (a SQLite file is opened read-only).
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../../cli/context.js';
import { latestSchemaVersion, openDatabase, poolSizeFrom, schemaVersion, type Db } from '../../db/connection.js';
import { copyDatabase } from '../../db/copy.js';
import { parseDbLocation, type DbLocation } from '../../db/location.js';
import { UsageError, OmniError } from '../../errors.js';
import { printJson, printTable, success, warn } from '../../cli/output.js';
import { keyFilePath } from '../../secrets.js';

export interface CopyOpts {
  from?: string;
  to?: string;
  force?: boolean;
  json?: boolean;
}

export interface KeyPlacement {
  /** env: OMNI_SECRET_KEY holds it; copied: the source's key file was copied; in-place: the target file already holds it; none: the source has no key file. */
  status: 'env' | 'copied' | 'in-place' | 'none';
  source: string | null;
  target: string | null;
  /** What the operator still has to do on the other hosts. */
  note: string;
}

function sameDatabase(a: DbLocation, b: DbLocation): boolean {
  if (a.engine === 'postgres' && b.engine === 'postgres') return a.host === b.host && a.port === b.port && a.database === b.database;
  return a.engine === 'sqlite' && b.engine === 'sqlite' && a.path === b.path;
}

/** Decides (before any row moves) where the key goes; refuses when the target already has another key. */
function planKey(ctx: Context, from: DbLocation, to: string): KeyPlacement & { copy?: () => void } {
  const target = keyFilePath(to, ctx.env);
  if (ctx.env.OMNI_SECRET_KEY && ctx.env.OMNI_SECRET_KEY.trim() !== '') {
    return { status: 'env', source: null, target: null, note: 'the key is OMNI_SECRET_KEY: set the same value on every host that uses the new database' };
  }
  const source = keyFilePath(from.engine === 'sqlite' ? from.path : from.url, ctx.env);
  let key: string;
  try {
    key = fs.readFileSync(source, 'utf8');
  } catch {
    return { status: 'none', source, target, note: `no key file at ${source}: if the credentials were saved with OMNI_SECRET_KEY, set that value on every host; otherwise put a key at ${target} on every host before adding interactions` };
  }
  let existing: string | undefined;
  try {
    existing = fs.readFileSync(target, 'utf8');
  } catch {
    existing = undefined;
  }
  const note = `every other host that runs omni against this database needs the same file at its ${target} (or OMNI_SECRET_KEY set to its content)`;
  if (existing !== undefined) {
    if (existing.trim() !== key.trim()) {
      throw new OmniError(`${target} already holds a different secret key; the copied credentials could not be decrypted with it`, {
        hint: `move that file away (it may belong to another installation) and run the copy again, or set OMNI_SECRET_KEY to the content of ${source}`,
      });
    }
    return { status: 'in-place', source, target, note };
  }
  return {
    status: 'copied',
    source,
    target,
    note,
    copy: () => {
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
      fs.writeFileSync(target, key, { mode: 0o600, flag: 'wx' });
    },
  };
}

export async function copyAction(ctx: Context, _args: [], opts: CopyOpts): Promise<void> {
  if (!opts.from || !opts.to) throw new UsageError(`missing ${!opts.from ? '--from' : '--to'}`, 'omni db copy --from ./omni.db --to postgres://omni@db.example.com:5432/omni');
  const from = parseDbLocation(opts.from);
  const to = parseDbLocation(opts.to);
  if (to.engine !== 'postgres') throw new UsageError(`--to must be a postgres:// URL, not ${to.display}`, 'e.g. --to postgres://omni@db.example.com:5432/omni');
  if (sameDatabase(from, to)) throw new UsageError(`--from and --to are the same database (${to.display})`, 'copy into another database');
  const key = planKey(ctx, from, to.url);

  const poolSize = poolSizeFrom(undefined, ctx.env);
  let source: Db | undefined;
  let target: Db | undefined;
  try {
    // The source is never changed: SQLite read-only, no migration on either engine.
    source = await openDatabase(from, from.engine === 'sqlite' ? { readonly: true } : { migrate: false, poolSize });
    const version = await schemaVersion(source);
    if (version !== latestSchemaVersion()) {
      throw new OmniError(
        version > latestSchemaVersion()
          ? `the source ${source.path} was written by a newer omni (schema ${version}, this omni knows ${latestSchemaVersion()})`
          : `the source ${source.path} is at schema ${version}, this omni at ${latestSchemaVersion()}`,
        { hint: version > latestSchemaVersion() ? 'upgrade omni before copying' : `migrate it first: omni --db ${source.path} db status` },
      );
    }
    target = await openDatabase(to, { poolSize });
    const tables = await copyDatabase(source, target, {
      force: opts.force,
      progress: opts.json ? undefined : (table, rows) => ctx.err(`copied ${table}: ${rows} row${rows === 1 ? '' : 's'}`),
    });
    key.copy?.();
    const total = tables.reduce((n, t) => n + t.rows, 0);
    const result = { from: source.path, to: target.path, tables, rows: total, verified: true, secretKey: { status: key.status, source: key.source, target: key.target, note: key.note } };
    if (opts.json) return printJson(ctx, result);
    printTable(ctx, [
      { header: 'TABLE', value: (t) => t.table },
      { header: 'ROWS', value: (t) => String(t.rows) },
      { header: 'NEXT ID', value: (t) => (t.nextId === null ? '-' : String(t.nextId)) },
    ], tables);
    success(ctx, `copied ${total} rows in ${tables.length} tables from ${source.path} to ${target.path}; row counts verified`);
    if (key.status === 'copied') success(ctx, `secret key: copied ${key.source} to ${key.target} (0600)`);
    if (key.status === 'in-place') success(ctx, `secret key: ${key.target} already holds the key of ${key.source}`);
    if (key.status === 'none') warn(ctx, key.note);
    else ctx.err(`  ${key.note}`);
  } finally {
    await source?.close();
    await target?.close();
  }
}
