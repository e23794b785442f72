// Checks made once per run: the database, the secret key, that there is something to check, and
// the Smartchat parameters 4biz lists as prerequisites (118, 315, 317, 390, 447).
import { catalogLabels, getCatalogEntry, listCatalog, type CatalogKind } from '../db/catalogs.js';
import { latestSchemaVersion, migrationStatus, type Db } from '../db/connection.js';
import { decryptSecrets } from '../interactions/model.js';
import { paramDef } from '../parameters.js';
import { fail, pass, type CheckDef, type GlobalCheck, type Outcome } from './model.js';

/** The Smartchat parameters of the 4biz prerequisite list, in its order. */
export const SMARTCHAT_PARAMETERS = [118, 315, 317, 390, 447] as const;

/**
 * Schema up to date, and a write that is rolled back: BEGIN IMMEDIATE takes the write lock (a
 * read-only file or a lock held too long by another process fails here), and a CREATE TABLE
 * inside it proves this connection may write. Nothing is left behind. Runs before anything else,
 * on the opened database (opening it is the first test: a failure there fails this check).
 */
export const databaseCheck: CheckDef<Db> = {
  id: 'database',
  title: 'database writable and migrated',
  run: checkDatabase,
};

async function checkDatabase(db: Db): Promise<Outcome> {
  const known = latestSchemaVersion();
  const migrations = await migrationStatus(db);
  const pending = migrations.filter((m) => !m.executedAt).map((m) => m.name);
  const version = db.sqlite.pragma('user_version', { simple: true }) as number;
  if (pending.length > 0 || version !== known) {
    return fail(
      `${db.path}: schema ${version}/${known}${pending.length ? `, pending: ${pending.join(', ')}` : ''}`,
      'run any omni command with write access to apply the migrations (they apply on open), e.g.: omni db status',
    );
  }
  try {
    db.sqlite.exec('BEGIN IMMEDIATE');
    try {
      db.sqlite.exec('CREATE TABLE omni_doctor_write_probe (x INTEGER)');
    } finally {
      db.sqlite.exec('ROLLBACK');
    }
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const message = (err as Error).message;
    if (code.startsWith('SQLITE_BUSY')) {
      return fail(`${db.path} is locked by another process: ${message}`, 'find what holds the write lock for seconds (a stuck script or a copy in progress) and stop it; omni listen holds it only for milliseconds');
    }
    return fail(`${db.path} cannot be written: ${message}`, `make ${db.path}, its -wal/-shm files and its directory writable by this user, or choose another file with --db`);
  }
  return pass(`${db.path}: schema ${version}/${known}, writable`);
}

const secretKeyCheck: GlobalCheck = {
  id: 'secret-key',
  title: 'secret key decrypts the stored credentials',
  async run({ secretKey, interactions, deps }) {
    let box;
    try {
      box = await secretKey();
    } catch (err) {
      return fail((err as Error).message, (err as { hint?: string }).hint ?? 'set OMNI_SECRET_KEY to a base64 32-byte key (openssl rand -base64 32)');
    }
    if (!box) {
      if (interactions.length === 0) return pass(`no key yet (${deps.secretKeySource}); omni creates it with the first interaction`);
      return fail(
        `no secret key: OMNI_SECRET_KEY is unset and ${deps.secretKeySource} does not exist, so the credentials of ${plural(interactions.length, 'interaction')} cannot be decrypted`,
        `restore ${deps.secretKeySource} from the backup taken with the database, or set OMNI_SECRET_KEY to the key they were saved with`,
      );
    }
    const broken: number[] = [];
    for (const row of interactions) {
      try {
        decryptSecrets(row, box);
      } catch {
        broken.push(row.id);
      }
    }
    if (broken.length > 0) {
      return fail(
        `the key (${box.source}) cannot decrypt the credentials of interaction${broken.length === 1 ? '' : 's'} ${broken.join(', ')}`,
        `use the key they were saved with (OMNI_SECRET_KEY or ${deps.secretKeySource}), or enter them again: omni interaction edit ${broken[0]}`,
      );
    }
    return pass(interactions.length ? `${box.source} decrypts the credentials of ${plural(interactions.length, 'interaction')}` : `${box.source} is readable`);
  },
};

const interactionsCheck: GlobalCheck = {
  id: 'interactions',
  title: 'an interaction to receive DMs',
  async run({ interactions, selected }) {
    if (interactions.length === 0) return fail('no live interaction', 'omni interaction new');
    return pass(selected ? `checking interaction ${interactions[0]!.id} '${interactions[0]!.name}'` : `${plural(interactions.length, 'live interaction')}`);
  },
};

/** Set, well formed, and (for catalog parameters) naming an entry that exists. */
export function parameterCheck(number: number): GlobalCheck {
  const def = paramDef(number);
  if (!def) throw new Error(`no parameter ${number} in src/parameters.ts`);
  const t = def.type;
  const label = t.kind === 'catalog' ? catalogLabels[t.catalog] : undefined;
  const placeholder = t.kind === 'catalog' ? `<${label} id or name>` : t.kind === 'integer' ? `<${t.what}>` : '<value>';
  return {
    id: `param-${number}`,
    title: `parameter ${number} (${def.name})`,
    async run({ db, params }) {
      const value = params.get(number);
      const setIt = `omni param set ${number} ${placeholder}`;
      if (value === undefined) {
        // With no entry to point at yet, the fix starts by creating one.
        if (t.kind === 'catalog' && (await listCatalog(db.kysely, t.catalog)).length === 0) {
          return fail(`not set, and there is no ${label} yet`, createThenSet(t.catalog, number));
        }
        return fail('not set', setIt);
      }
      if (t.kind !== 'catalog') return pass(value);
      const entry = /^\d+$/.test(value) ? await getCatalogEntry(db.kysely, t.catalog, Number(value)) : undefined;
      if (!entry) return fail(`${value}, but there is no ${label} ${value} (omni ${t.catalog} list)`, setIt);
      return pass(`${value} (${entry.name}${entry.portfolio_name ? `, portfolio ${entry.portfolio_name}` : ''})`);
    },
  };
}

function createThenSet(catalog: CatalogKind, number: number): string {
  if (catalog === 'activity') return `omni portfolio add "<portfolio>" && omni activity add "<activity>" --portfolio "<portfolio>" && omni param set ${number} "<activity>"`;
  return `omni ${catalog} add "<name>" && omni param set ${number} "<name>"`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Run after `database` passed, in this order. */
export const GLOBAL_CHECKS: readonly GlobalCheck[] = [secretKeyCheck, interactionsCheck, ...SMARTCHAT_PARAMETERS.map(parameterCheck)];
