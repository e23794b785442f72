// The one write path of interactions. Whatever the surface (the wizard, flags, `omni apply`, later
// OAuth or `db copy`), a create, update or delete goes through here: the rules of rules.ts → the
// credentials encrypted (src/secrets.ts) → the row and its audit record, in one transaction. Nothing
// else writes interactions; src/db/interactions.ts only holds the statements.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import {
  getInteraction,
  insertInteraction,
  listInteractionSummaries,
  nextInteractionId,
  softDeleteInteraction,
  updateInteraction as updateInteractionRow,
} from '../db/interactions.js';
import { recordAudit } from '../db/audit.js';
import { inTransaction } from '../db/transaction.js';
import type { SecretBox } from '../secrets.js';
import {
  SECRET_FIELDS,
  decryptSecrets,
  encryptSecrets,
  valuesFromRow,
  valuesToColumns,
  formatSilence,
  type FieldName,
  type InteractionValues,
  type Secrets,
} from './model.js';
import { storeAuthorization } from '../twitter/user-token.js';
import type { TokenSet, XAccount } from '../twitter/oauth2.js';
import { OAUTH_CLIENT_COLUMNS } from './model.js';
import { interactionProblems, normalizeValues, type RuledValues } from './rules.js';
import { auditChanges, interactionChanges, type FieldChange } from './changes.js';
import { InteractionRefused, type Problem } from './problems.js';

/** The interaction the write path takes: plain values (catalog entries already looked up) and credentials. */
export interface InteractionDraft {
  values: InteractionValues;
  /** All four on create; on update only those given (an absent one keeps its stored value). */
  secrets: Partial<Secrets>;
}

/** Who writes, when, and under which options. */
export interface WriteContext {
  now: string;
  actor: string;
  box: SecretBox;
  /** Accept an http:// callback URL (local set-ups). */
  allowHttp?: boolean;
  /** Extra keys for the audit record, e.g. { via: 'apply' }. */
  auditExtra?: Record<string, unknown>;
}

/**
 * The name of the live interaction (other than `exceptId`) whose name equals `name` ignoring case,
 * if any. Names are compared case-insensitively so 'Support' and 'support' cannot both exist: people
 * reference interactions by name, and two names differing only in case are one name to them.
 */
export async function nameHolder(db: Kysely<Database>, name: string, exceptId?: number): Promise<string | undefined> {
  const wanted = name.trim().toLowerCase();
  const rows = await listInteractionSummaries(db);
  return rows.find((r) => r.id !== exceptId && r.name.toLowerCase() === wanted)?.name;
}

/** The name-taken problem for `name`, or undefined when it is free. */
export async function nameTakenProblem(db: Kysely<Database>, name: string, exceptId?: number): Promise<Problem | undefined> {
  const holder = await nameHolder(db, name, exceptId);
  return holder === undefined ? undefined : { field: 'name', code: 'name-taken', value: name.trim(), holder };
}

const REFS = ['unit', 'group', 'activity', 'contactOrigin'] as const satisfies readonly FieldName[];

/** The problems of a new interaction, without the database: the value rules and what is missing. */
export function draftProblems(draft: InteractionDraft, opts: { allowHttp: boolean }): Problem[] {
  const v = draft.values;
  const problems = interactionProblems(ruled(v), draft.secrets, opts);
  for (const f of REFS) if (v[f] === null) problems.push({ field: f, code: 'missing' });
  for (const f of SECRET_FIELDS) if (draft.secrets[f] === undefined) problems.push({ field: f, code: 'missing' });
  return problems;
}

function ruled(v: InteractionValues): RuledValues {
  return { name: v.name, channel: v.channel, api: v.api, devEnvironment: v.devEnvironment, callbackUrl: v.callbackUrl, silenceAlert: v.silenceAlert == null ? 'off' : formatSilence(v.silenceAlert) };
}

/** The values to store: trimmed, the callback URL without trailing slashes (when it is a URL at all). */
function normalized(v: InteractionValues): InteractionValues {
  const { callbackUrl, silenceAlert: _silence, ...rest } = ruled(v);
  let url = callbackUrl.trim();
  try {
    url = normalizeValues({ callbackUrl }).callbackUrl;
  } catch {
    // Not a URL: the rules refuse it wherever it is written; it is compared as given.
  }
  const { name, devEnvironment } = normalizeValues({ name: rest.name, devEnvironment: rest.devEnvironment });
  return { ...v, name, devEnvironment, callbackUrl: url };
}

/**
 * The new row got another id than the one the caller showed; nothing was saved. `actual` is the id the
 * next attempt gets, read after the rollback: on PostgreSQL the sequence keeps the id the rolled-back
 * insert took (sequences are not transactional), so that one is never handed out again.
 */
export class IdentifierMoved extends Error {
  constructor(readonly actual: number) {
    super(`identifier moved to ${actual}`);
    this.name = 'IdentifierMoved';
  }
}

/**
 * Creates an interaction with its audit record. Refuses (InteractionRefused) on any rule, on a name
 * taken by a live interaction in any case, and on a missing value; `expectedId`, when given, must be
 * the id the row gets (the wizard shows it before saving), else nothing is saved (IdentifierMoved).
 */
export async function createInteraction(db: Kysely<Database>, draft: InteractionDraft, w: WriteContext, opts: { expectedId?: number } = {}): Promise<number> {
  const problems = draftProblems(draft, { allowHttp: Boolean(w.allowHttp) });
  if (problems.length > 0) throw new InteractionRefused(problems);
  const values = normalized(draft.values);
  const secrets = draft.secrets as Secrets;
  const created = inTransaction(db, async (trx) => {
    const taken = await nameTakenProblem(trx, values.name);
    if (taken) throw new InteractionRefused([taken]);
    const row = await insertInteraction(trx, {
      ...valuesToColumns(values),
      ...(encryptSecrets(secrets, w.box) as Record<'api_key_enc' | 'api_secret_key_enc' | 'access_token_enc' | 'access_token_secret_enc', string>),
      created_at: w.now,
      updated_at: w.now,
    });
    // Throwing rolls the insert back, so the identifier shown and the one saved never differ.
    if (opts.expectedId !== undefined && row.id !== opts.expectedId) throw new IdentifierMoved(row.id);
    await recordAudit(trx, {
      at: w.now,
      actor: w.actor,
      entity: 'interaction',
      entityId: row.id,
      action: 'create',
      changes: { ...auditChanges(interactionChanges(undefined, values, secrets), 'create'), ...w.auditExtra },
    });
    return row.id;
  });
  return created.catch(async (err: unknown) => {
    if (err instanceof IdentifierMoved) throw new IdentifierMoved(await nextInteractionId(db));
    throw err;
  });
}

/**
 * What an update changes, and the problems of what changes (unchanged values are not checked again:
 * one saved under other options does not block editing another field).
 */
async function diff(db: Kysely<Database>, row: NonNullable<Awaited<ReturnType<typeof getInteraction>>>, draft: InteractionDraft, opts: { allowHttp: boolean; box: SecretBox }) {
  const before = valuesFromRow(row);
  const givenSecrets = SECRET_FIELDS.some((f) => draft.secrets[f] !== undefined);
  // Decrypting first also proves the key is the right one before anything is re-encrypted with it.
  const current = givenSecrets ? decryptSecrets(row, opts.box) : undefined;
  // Comparing the stored forms: 'https://h.example.com/' is no change from 'https://h.example.com'.
  const after = normalized(draft.values);
  const changes = interactionChanges(before, after, draft.secrets, current);
  const changed = new Set<FieldName>(changes.map((c) => c.field));
  const check: Partial<RuledValues> = {};
  for (const f of ['name', 'channel', 'api', 'devEnvironment', 'callbackUrl'] as const) if (changed.has(f)) (check as Record<string, string>)[f] = draft.values[f];
  if (changed.has('silenceAlert')) check.silenceAlert = ruled(draft.values).silenceAlert;
  // The label's rule depends on the generation: a change to either checks the pair.
  if (changed.has('api') || changed.has('devEnvironment')) {
    check.api = draft.values.api;
    check.devEnvironment = draft.values.devEnvironment;
  }
  const secrets: Partial<Secrets> = {};
  for (const f of SECRET_FIELDS) if (changed.has(f)) secrets[f] = draft.secrets[f]!;
  const problems = interactionProblems(check, secrets, opts);
  for (const f of REFS) if (changed.has(f) && draft.values[f] === null) problems.push({ field: f, code: 'missing' });
  if (changed.has('name') && !problems.some((p) => p.field === 'name')) {
    const taken = await nameTakenProblem(db, draft.values.name, row.id);
    if (taken) problems.push(taken);
  }
  return { changes, problems, after, secrets };
}

/** The interaction was deleted (or never existed) by the time it was written. */
export class InteractionGone extends Error {
  readonly exitCode = 1;
  readonly hint = 'run omni interaction list --deleted; another process may have deleted it';
  constructor(readonly id: number) {
    super(`interaction ${id} no longer exists`);
    this.name = 'InteractionGone';
  }
}

/**
 * Updates an interaction to `draft` (full plain values; only the secrets given), writing only what
 * differs, with its audit record; returns the changes (none: nothing is written). Refuses
 * (InteractionRefused) when a changed value breaks a rule or the new name is taken in any case.
 */
export async function updateInteraction(db: Kysely<Database>, id: number, draft: InteractionDraft, w: WriteContext): Promise<FieldChange[]> {
  return inTransaction(db, async (trx) => {
    const row = await getInteraction(trx, id);
    if (!row) throw new InteractionGone(id);
    const { changes, problems, after, secrets } = await diff(trx, row, draft, { allowHttp: Boolean(w.allowHttp), box: w.box });
    if (problems.length > 0) throw new InteractionRefused(problems);
    if (changes.length === 0) return changes;
    await updateInteractionRow(trx, id, { ...valuesToColumns(after), ...encryptSecrets(secrets, w.box), updated_at: w.now });
    await recordAudit(trx, {
      at: w.now,
      actor: w.actor,
      entity: 'interaction',
      entityId: id,
      action: 'update',
      changes: { ...auditChanges(changes, 'update'), ...w.auditExtra },
    });
    return changes;
  });
}

/** Deletes an interaction logically (as 4biz does), with its audit record. */
export async function deleteInteraction(db: Kysely<Database>, id: number, w: Omit<WriteContext, 'box'>): Promise<void> {
  await inTransaction(db, async (trx) => {
    const row = await getInteraction(trx, id);
    if (!row) throw new InteractionGone(id);
    await softDeleteInteraction(trx, id, w.now);
    await recordAudit(trx, { at: w.now, actor: w.actor, entity: 'interaction', entityId: id, action: 'delete', changes: { name: row.name, ...w.auditExtra } });
  });
}

/** What `interaction authorize` obtained, to be stored with the client credentials it used. */
export interface AuthorizationWrite {
  tokens: TokenSet;
  account: XAccount;
  /** The client credentials given this time (absent: the stored ones were used and stay). */
  client: { clientId?: string; clientSecret?: string };
  /** 'browser' (Authorization Code + PKCE) or 'refresh-token' (the CI path). */
  via: 'browser' | 'refresh-token';
}

/**
 * Stores an OAuth 2.0 authorization: the client id/secret given (encrypted, like the other
 * credentials), the token pair (encrypted, replacing any earlier or lost one) and an audit record
 * naming the account and scopes, never a value, in one transaction.
 */
export async function recordAuthorization(db: Kysely<Database>, id: number, a: AuthorizationWrite, w: Omit<WriteContext, 'allowHttp'>): Promise<void> {
  await inTransaction(db, async (trx) => {
    const row = await getInteraction(trx, id);
    if (!row) throw new InteractionGone(id);
    const patch: Record<string, string> = {};
    const audit: Record<string, unknown> = { account: { userId: a.account.userId, username: a.account.username }, scopes: a.tokens.scopes, via: a.via };
    for (const f of ['clientId', 'clientSecret'] as const) {
      const v = a.client[f];
      if (v === undefined) continue;
      const col = OAUTH_CLIENT_COLUMNS[f];
      const stored = row[col];
      if (stored !== null && w.box.decrypt(stored, col) === v) continue;
      patch[col] = w.box.encrypt(v, col);
      audit[f] = stored === null ? 'set' : 'changed';
    }
    if (Object.keys(patch).length > 0) await updateInteractionRow(trx, id, { ...patch, updated_at: w.now });
    await storeAuthorization(trx, w.box, id, a.tokens, a.account, new Date(w.now));
    await recordAudit(trx, { at: w.now, actor: w.actor, entity: 'interaction', entityId: id, action: 'authorize', changes: { ...audit, ...w.auditExtra } });
  });
}
