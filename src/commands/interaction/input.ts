// Where interaction input comes from when it is not typed into the wizard: flags, the OMNI_TWITTER_*
// environment, a --secrets-file (or stdin), and catalog references looked up by id or name.
import fs from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { Context } from '../../cli/context.js';
import type { Database } from '../../db/schema.js';
import { findCatalogEntry, listCatalog, type CatalogKind, type CatalogRow } from '../../db/catalogs.js';
import { createCatalogEntry } from '../catalog/entries.js';
import { listInteractions } from '../../db/interactions.js';
import { UsageError } from '../../errors.js';
import type { SecretBox } from '../../secrets.js';
import {
  CHANNELS,
  SECRET_COLUMNS,
  SECRET_ENV,
  SECRET_FIELDS,
  type CatalogRef,
  type Channel,
  type InteractionValues,
  type SecretField,
  type Secrets,
} from '../../interactions/model.js';
import {
  parseSecretsJson,
  secretsFromEnv,
  type CheckedInput,
  type ScriptedInput,
} from '../../interactions/rules.js';

/** The options `interaction new` and `interaction edit` share. */
export interface InteractionFlags extends ScriptedInput {
  allowHttp?: boolean;
  secretsFile?: string;
  json?: boolean;
}

export interface GivenSecrets {
  values: Partial<Secrets>;
  /** Where each given secret came from (an environment variable or --secrets-file), for the wizard's notes. */
  sources: Partial<Record<SecretField, string>>;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The text of a --secrets-file: a path, or "-" for stdin (never a terminal). */
export async function readSecretsText(ctx: Context, secretsFile: string, command = 'omni interaction new'): Promise<string> {
  if (secretsFile === '-') {
    if (ctx.io.stdin.isTTY) {
      throw new UsageError('--secrets-file - reads the secrets from stdin, but stdin is a terminal', `pipe the JSON in (… | ${command} --secrets-file -) or give a file path`);
    }
    return readAll(ctx.io.stdin);
  }
  try {
    return await fs.readFile(secretsFile, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --secrets-file ${secretsFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'give the path of a JSON file of credentials (see --help)');
  }
}

export function secretsSource(secretsFile: string): string {
  return secretsFile === '-' ? 'the JSON on stdin (--secrets-file -)' : `the file ${secretsFile} (--secrets-file)`;
}

/** Secrets from the environment, overridden field by field by --secrets-file (the explicit source wins). */
export async function gatherSecrets(ctx: Context, secretsFile: string | undefined): Promise<GivenSecrets> {
  const values = secretsFromEnv(ctx.env);
  const sources: Partial<Record<SecretField, string>> = {};
  for (const f of SECRET_FIELDS) if (values[f] !== undefined) sources[f] = SECRET_ENV[f];
  if (secretsFile === undefined) return { values, sources };

  const fromFile = parseSecretsJson(await readSecretsText(ctx, secretsFile), secretsSource(secretsFile));
  for (const f of SECRET_FIELDS) {
    if (fromFile[f] !== undefined) {
      values[f] = fromFile[f];
      sources[f] = '--secrets-file';
    }
  }
  return { values, sources };
}

/** Catalog references given as flags, looked up (unknown or ambiguous ones fail with exit 2). */
export interface ResolvedRefs {
  unit?: CatalogRef;
  group?: CatalogRef;
  activity?: CatalogRef & { portfolio: string | null };
  contactOrigin?: CatalogRef;
}

export async function resolveRefs(db: Kysely<Database>, checked: CheckedInput): Promise<ResolvedRefs> {
  const out: ResolvedRefs = {};
  const ref = (r: CatalogRow): CatalogRef => ({ id: r.id, name: r.name });
  if (checked.unit !== undefined) out.unit = ref(await findCatalogEntry(db, 'unit', checked.unit));
  if (checked.group !== undefined) out.group = ref(await findCatalogEntry(db, 'group', checked.group));
  if (checked.activity !== undefined) {
    const a = await findCatalogEntry(db, 'activity', checked.activity);
    out.activity = { ...ref(a), portfolio: a.portfolio_name ?? null };
  }
  if (checked.origin !== undefined) out.contactOrigin = ref(await findCatalogEntry(db, 'origin', checked.origin));
  return out;
}

/** The channel's usual contact origin (Twitter for Twitter DMs), when that entry exists. */
export async function defaultOrigin(db: Kysely<Database>, channel: Channel): Promise<CatalogRef | undefined> {
  const row = await findCatalogEntry(db, 'origin', CHANNELS[channel].defaultOrigin).catch(() => undefined);
  return row ? { id: row.id, name: row.name } : undefined;
}

/** The plain values flags and refs give, laid over `base` (the current values on edit). */
export function applyInput(base: InteractionValues, checked: CheckedInput, refs: ResolvedRefs): InteractionValues {
  return {
    name: checked.name ?? base.name,
    channel: checked.channel ?? base.channel,
    api: checked.api ?? base.api,
    unit: refs.unit ?? base.unit,
    group: refs.group ?? base.group,
    activity: refs.activity ?? base.activity,
    contactOrigin: refs.contactOrigin ?? base.contactOrigin,
    helperInterception: checked.helper ?? base.helperInterception,
    devEnvironment: checked.devEnvironment ?? base.devEnvironment,
    callbackUrl: checked.callbackUrl ?? base.callbackUrl,
    silenceAlert: checked.silenceAlert !== undefined ? checked.silenceAlert : base.silenceAlert,
  };
}

/**
 * Refuses to encrypt new secrets under a key other than the one existing interactions were saved
 * with: mixing keys would leave some interactions unreadable whichever key is set later.
 */
export async function assertKeyFits(db: Kysely<Database>, box: SecretBox): Promise<void> {
  const [any] = await listInteractions(db, { all: true });
  if (any) box.decrypt(any[SECRET_COLUMNS.apiKey], SECRET_COLUMNS.apiKey);
}

/** What the wizard needs of the catalogs: list them, and create an entry inline (with its audit record). */
/** The catalogs the wizard picks from (every kind but contracts, which interactions do not point at). */
export type PickableKind = Exclude<CatalogKind, 'contract'>;

export interface CatalogPort {
  list(kind: PickableKind): Promise<CatalogRow[]>;
  create(kind: PickableKind, name: string, portfolio?: CatalogRef): Promise<CatalogRow>;
}

/** A catalog entry made with "Create new…" in a wizard: kept whether or not the interaction is saved. */
export interface CreatedEntry {
  kind: PickableKind;
  id: number;
  name: string;
}

/**
 * The database's catalogs for a wizard, remembering what "Create new…" made: such entries are real
 * catalog entries (written with their audit record at once) and stay when the interaction is not
 * saved, so the summary and a decline or an interrupt say so (`createdEntriesLines`).
 */
export function dbCatalogPort(ctx: Context, db: Kysely<Database>): CatalogPort & { created: CreatedEntry[] } {
  const created: CreatedEntry[] = [];
  return {
    created,
    list: (kind) => listCatalog(db, kind),
    create: async (kind, name, portfolio) => {
      const row = await createCatalogEntry(ctx, db, kind, name, portfolio);
      created.push({ kind, id: row.id, name: row.name });
      return row;
    },
  };
}

const KIND_WORDS: Record<PickableKind, string> = { unit: 'unit', group: 'group', portfolio: 'portfolio', activity: 'activity', origin: 'contact origin' };

/** "unit 2 'Branch Office', portfolio 3 'Care'": what a wizard created, for the summary and the exits. */
export function createdEntriesText(created: readonly CreatedEntry[]): string {
  return created.map((c) => `${KIND_WORDS[c.kind]} ${c.id} '${c.name}'`).join(', ');
}

/** The commands that remove what a wizard created, newest first (an activity before its portfolio). */
export function removeCreatedHint(created: readonly CreatedEntry[]): string {
  return [...created].reverse().map((c) => `omni ${c.kind} rm ${c.id}`).join(' && ');
}

/**
 * Runs a wizard's interactive part; if it ends without saving (declined, Ctrl-C, an error), says that
 * the entries it created were kept and how to remove them. `run` returns whether it saved.
 */
export async function reportingCreated(ctx: Context, created: readonly CreatedEntry[], run: () => Promise<boolean>): Promise<boolean> {
  let saved = false;
  try {
    saved = await run();
    return saved;
  } finally {
    if (!saved && created.length > 0) {
      ctx.err(`kept what this wizard created: ${createdEntriesText(created)}; to remove: ${removeCreatedHint(created)}`);
    }
  }
}
