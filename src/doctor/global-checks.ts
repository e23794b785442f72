// Checks made once per run: the database, the secret key, that there is something to check, and
// the Smartchat parameters 4biz lists as prerequisites (118, 315, 317, 390, 447; the ones omni only
// stores warn instead of failing).
import { catalogLabels, getCatalogEntry, listCatalog, type CatalogKind, type CatalogRow } from '../db/catalogs.js';
import { latestSchemaVersion, migrationStatus, schemaVersion, type Db } from '../db/connection.js';
import type { InteractionView } from '../db/interactions.js';
import { decryptSecrets } from '../interactions/model.js';
import { paramDef } from '../parameters.js';
import { fail, pass, warn, type CheckDef, type GlobalCheck, type Outcome } from './model.js';

/** The Smartchat parameters of the 4biz prerequisite list, in its order. */
export const SMARTCHAT_PARAMETERS = [118, 315, 317, 390, 447] as const;

/**
 * Schema up to date, and a write that is rolled back: on SQLite BEGIN IMMEDIATE takes the write lock
 * (a read-only file or a lock held too long by another process fails here), and a CREATE TABLE
 * inside it proves this connection may write; on PostgreSQL the same CREATE TABLE in a transaction
 * on a pooled connection (a read-only standby, a role without the right to write fail here).
 * Nothing is left behind. Runs before anything else, on the opened database (opening it is the
 * first test: a failure there fails this check).
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
  const version = await schemaVersion(db);
  if (pending.length > 0 || version !== known) {
    return fail(
      `${db.path}: schema ${version}/${known}${pending.length ? `, pending: ${pending.join(', ')}` : ''}`,
      'run any omni command with write access to apply the migrations (they apply on open), e.g.: omni db status',
    );
  }
  const refused = db.engine === 'postgres' ? await postgresWriteProbe(db) : sqliteWriteProbe(db);
  return refused ?? pass(`${db.path}: schema ${version}/${known}, writable`);
}

function sqliteWriteProbe(db: Db): Outcome | undefined {
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
  return undefined;
}

async function postgresWriteProbe(db: Db): Promise<Outcome | undefined> {
  try {
    const client = await db.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        await client.query('CREATE TABLE omni_doctor_write_probe (x integer)');
      } finally {
        await client.query('ROLLBACK').catch((err: Error) => (broken = err));
      }
    } finally {
      client.release(broken);
    }
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const message = (err as Error).message;
    if (code === '25006') {
      return fail(`${db.path} is read-only (a standby?): ${message}`, 'point --db or OMNI_DB at the primary server');
    }
    return fail(`${db.path} cannot be written: ${message}`, "grant this role the right to create and write omni's tables (it owns them after the migrations), or check that the server is up");
  }
  return undefined;
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

/**
 * Set, well formed, and (for catalog parameters) naming an entry that exists. Only a parameter omni
 * acts on (`acted` in src/parameters.ts) can fail: one it only stores (447, the e-mail template of a
 * 4biz feature omni does not have) warns, since nothing omni does changes with it. A failure's fix
 * is a command that runs as printed: it names a real entry (the one the interactions use, the only
 * one, or the first of `omni <kind> list`), or creates one first when there is none.
 */
export function parameterCheck(number: number): GlobalCheck {
  const def = paramDef(number);
  if (!def) throw new Error(`no parameter ${number} in src/parameters.ts`);
  const t = def.type;
  const label = t.kind === 'catalog' ? catalogLabels[t.catalog] : undefined;
  const placeholder = t.kind === 'catalog' ? `<${label} id or name>` : t.kind === 'integer' ? `<${t.what}>` : '<value>';
  const storedOnly = def.use;
  return {
    id: `param-${number}`,
    title: `parameter ${number} (${def.name})`,
    async run({ db, params, interactions }) {
      const value = params.get(number);
      if (!def.acted) {
        // Shown for the 4biz checklist; never a reason for `omni doctor` to fail.
        if (value === undefined) return warn(`not set (${storedOnly})`, `nothing to do for omni; only if 4biz itself needs it: omni param set ${number} ${placeholder}`);
        if (t.kind !== 'catalog') return pass(`${value} (${storedOnly})`);
      }
      if (t.kind !== 'catalog') {
        return value === undefined ? fail('not set', `omni param set ${number} ${placeholder}`) : pass(value);
      }
      const entry = value !== undefined && /^\d+$/.test(value) ? await getCatalogEntry(db.kysely, t.catalog, Number(value)) : undefined;
      if (entry) return pass(`${value} (${entry.name}${entry.portfolio_name ? `, portfolio ${entry.portfolio_name}` : ''})${def.acted ? '' : ` (${storedOnly})`}`);
      const found = value === undefined ? 'not set' : `${value}, but there is no ${label} ${value} (omni ${t.catalog} list)`;
      const entries = await listCatalog(db.kysely, t.catalog);
      // With no entry to point at yet, the fix starts by creating one.
      const fix = entries.length === 0 ? await createThenSet(db, t.catalog, number) : setTo(t.catalog, number, entries, interactions);
      return def.acted ? fail(entries.length === 0 ? `${found}, and there is no ${label} yet` : found, fix) : warn(`${found} (${storedOnly})`, fix);
    },
  };
}

/** The entry of `entries` the interactions being checked use most, by id. */
function usedByInteractions(catalog: CatalogKind, interactions: readonly InteractionView[]): number | undefined {
  const column = catalog === 'unit' ? 'unit_id' : catalog === 'group' ? 'group_id' : catalog === 'activity' ? 'activity_id' : catalog === 'origin' ? 'contact_origin_id' : undefined;
  if (!column) return undefined;
  const counts = new Map<number, number>();
  for (const row of interactions) {
    const id = row[column];
    if (id !== null) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
}

/** `omni param set <n> <entry>` with a real entry; "or another of: omni <kind> list" when there is a choice. */
function setTo(catalog: CatalogKind, number: number, entries: readonly CatalogRow[], interactions: readonly InteractionView[]): string {
  const used = usedByInteractions(catalog, interactions);
  const pick =
    entries.find((e) => e.id === used) ??
    (catalog === 'origin' ? entries.find((e) => e.name.toLowerCase() === 'twitter') : undefined) ??
    entries[0]!;
  // An activity name is unique only within its portfolio: a name shared by two needs the id.
  const ambiguous = entries.some((e) => e.id !== pick.id && e.name.toLowerCase() === pick.name.toLowerCase());
  const command = `omni param set ${number} ${ambiguous ? String(pick.id) : shellWord(pick.name)}`;
  if (entries.length === 1) return command;
  const what = catalog === 'activity' ? `, portfolio ${pick.portfolio_name}` : '';
  return `${command} (${ambiguous ? `${pick.name}${what}; ` : ''}or another of: omni ${catalog} list)`;
}

async function createThenSet(db: Db, catalog: CatalogKind, number: number): Promise<string> {
  const example = EXAMPLE_NAMES[catalog];
  if (catalog === 'activity') {
    // An activity belongs to a portfolio: an existing one, or one created first.
    const portfolio = (await listCatalog(db.kysely, 'portfolio'))[0]?.name;
    const add = `omni activity add ${shellWord(example)} --portfolio ${shellWord(portfolio ?? EXAMPLE_NAMES.portfolio)}`;
    return `${portfolio ? '' : `omni portfolio add ${shellWord(EXAMPLE_NAMES.portfolio)} && `}${add} && omni param set ${number} ${shellWord(example)}`;
  }
  return `omni ${catalog} add ${shellWord(example)} && omni param set ${number} ${shellWord(example)}`;
}

/** The names the README's Quick start uses, so a fix and the guide agree. */
const EXAMPLE_NAMES: Record<CatalogKind, string> = {
  unit: 'Headquarters',
  group: 'Social Media Support',
  portfolio: 'Customer Service',
  activity: 'Twitter DM request',
  origin: 'Twitter',
  contract: 'Standard support',
};

/** A name as one shell word: bare when plainly safe, in double quotes when nothing in it expands, else in single quotes. */
function shellWord(name: string): string {
  if (/^[A-Za-z0-9._\/@:+-]+$/.test(name)) return name;
  if (!/["$`\\!]/.test(name)) return `"${name}"`;
  return `'${name.replace(/'/g, `'\\''`)}'`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Run after `database` passed, in this order. */
export const GLOBAL_CHECKS: readonly GlobalCheck[] = [secretKeyCheck, interactionsCheck, ...SMARTCHAT_PARAMETERS.map(parameterCheck)];
