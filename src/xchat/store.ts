// The one write path of X Chat keys (migration 0011): the account's identity per key version and the
// conversation keys omni learned or created. Private material is stored only as AES-GCM envelopes
// (src/secrets.ts) whose associated data names the row, so an envelope cannot be moved to another
// interaction or conversation unnoticed. Every identity change writes an audit record in the same
// transaction; audit records carry versions and fingerprints, never key bytes.
import type { Kysely } from 'kysely';
import { recordAudit } from '../db/audit.js';
import type { Database, XChatIdentityTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { OmniError } from '../errors.js';
import type { SecretBox } from '../secrets.js';
import { ConversationKeyRing, XChatIdentity, signedConversationId, type PublicKeyRegistration } from './sdk.js';

/** An identity row as every surface may show it: public material and state, never the blob. */
export interface XChatIdentityView {
  id: number;
  interactionId: number;
  accountUserId: string;
  keyVersion: number;
  publicKeyVersion: string | null;
  fingerprint: string;
  publicKey: string;
  signingPublicKey: string;
  identityPublicKeySignature: string | null;
  origin: 'generated' | 'imported';
  status: 'pending' | 'active' | 'retired';
  registeredAt: string | null;
  retiredAt: string | null;
  createdAt: string;
}

export interface XChatWriteContext {
  now: string;
  actor: string;
  box: SecretBox;
  /** Extra keys for the audit record. */
  auditExtra?: Record<string, unknown>;
}

/** Associated data of an identity's key blob: table, column, interaction and key version. */
export function blobField(interactionId: number, keyVersion: number): string {
  return `xchat_identities.key_blob_enc:${interactionId}:${keyVersion}`;
}

/** Associated data of a conversation key. */
export function conversationKeyField(interactionId: number, conversationId: string, version: string): string {
  return `xchat_conversation_keys.key_enc:${interactionId}:${conversationId}:${version}`;
}

type IdentityRow = Omit<XChatIdentityTable, 'id'> & { id: number };

function view(r: IdentityRow): XChatIdentityView {
  return {
    id: r.id,
    interactionId: r.interaction_id,
    accountUserId: r.account_user_id,
    keyVersion: r.key_version,
    publicKeyVersion: r.public_key_version,
    fingerprint: r.fingerprint,
    publicKey: r.public_key,
    signingPublicKey: r.signing_public_key,
    identityPublicKeySignature: r.identity_public_key_signature,
    origin: r.origin,
    status: r.status,
    registeredAt: r.registered_at,
    retiredAt: r.retired_at,
    createdAt: r.created_at,
  };
}

const PUBLIC_COLUMNS = [
  'id',
  'interaction_id',
  'account_user_id',
  'key_version',
  'public_key_version',
  'fingerprint',
  'public_key',
  'signing_public_key',
  'identity_public_key_signature',
  'origin',
  'status',
  'registered_at',
  'retired_at',
  'created_at',
] as const;

/** Every identity of an interaction, newest key version first (no key material). */
export async function listXChatIdentities(db: Kysely<Database>, interactionId: number): Promise<XChatIdentityView[]> {
  const rows = await db.selectFrom('xchat_identities').select(PUBLIC_COLUMNS).where('interaction_id', '=', interactionId).orderBy('key_version', 'desc').execute();
  return rows.map((r) => view(r as IdentityRow));
}

/** The state `xchat status` and `doctor` report: the active identity and a pending one, if any. */
export async function xchatState(db: Kysely<Database>, interactionId: number): Promise<{ active: XChatIdentityView | undefined; pending: XChatIdentityView | undefined; retired: number }> {
  const all = await listXChatIdentities(db, interactionId);
  return {
    active: all.find((r) => r.status === 'active'),
    pending: all.find((r) => r.status === 'pending'),
    retired: all.filter((r) => r.status === 'retired').length,
  };
}

/** The registration body kept with a pending generated identity (public material). */
export async function pendingRegistration(db: Kysely<Database>, identityId: number): Promise<PublicKeyRegistration | undefined> {
  const r = await db.selectFrom('xchat_identities').select('registration_json').where('id', '=', identityId).executeTakeFirst();
  return r?.registration_json ? (JSON.parse(r.registration_json) as PublicKeyRegistration) : undefined;
}

async function nextKeyVersion(db: Kysely<Database>, interactionId: number): Promise<number> {
  const r = await db.selectFrom('xchat_identities').select((eb) => eb.fn.max('key_version').as('v')).where('interaction_id', '=', interactionId).executeTakeFirst();
  return Number(r?.v ?? 0) + 1;
}

export interface NewIdentity {
  interactionId: number;
  identity: XChatIdentity;
  origin: 'generated' | 'imported';
  /** Generated identities: the body to send (kept until X confirmed it). */
  registration?: PublicKeyRegistration;
  /** Imported identities already registered at X: stored active at once under this version. */
  registeredAs?: { publicKeyVersion: string; identityPublicKeySignature: string };
}

/**
 * Stores a new identity: `pending` until X confirms its registration (generated), or `active` at once
 * when it is already registered (an imported blob X knows). Either replaces keys still pending;
 * activating retires the previous active one.
 */
export async function storeXChatIdentity(db: Kysely<Database>, n: NewIdentity, w: XChatWriteContext): Promise<XChatIdentityView> {
  return inTransaction(db, async (trx) => {
    const keyVersion = await nextKeyVersion(trx, n.interactionId);
    const blob = n.identity.exportKeyBlob();
    let envelope: string;
    try {
      envelope = w.box.encrypt(Buffer.from(blob).toString('base64'), blobField(n.interactionId, keyVersion));
    } finally {
      blob.fill(0);
    }
    const keys = n.identity.publicKeys();
    const active = n.registeredAs !== undefined;
    // Keys pending registration are superseded either way: a later plain setup must not register them
    // over the identity stored now.
    await trx.deleteFrom('xchat_identities').where('interaction_id', '=', n.interactionId).where('status', '=', 'pending').execute();
    if (active) {
      await trx.updateTable('xchat_identities').set({ status: 'retired', retired_at: w.now, updated_at: w.now }).where('interaction_id', '=', n.interactionId).where('status', '=', 'active').execute();
    }
    const fingerprint = n.identity.fingerprint();
    const inserted = await trx
      .insertInto('xchat_identities')
      .values({
        interaction_id: n.interactionId,
        account_user_id: n.identity.userId,
        key_version: keyVersion,
        public_key_version: active ? n.registeredAs!.publicKeyVersion : null,
        fingerprint,
        public_key: keys.publicKey,
        signing_public_key: keys.signingPublicKey,
        identity_public_key_signature: (active ? n.registeredAs!.identityPublicKeySignature : n.registration?.public_key.identity_public_key_signature) || null,
        registration_json: n.registration ? JSON.stringify(n.registration) : null,
        key_blob_enc: envelope,
        origin: n.origin,
        status: active ? 'active' : 'pending',
        registered_at: active ? w.now : null,
        retired_at: null,
        created_at: w.now,
        updated_at: w.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await recordAudit(trx, {
      at: w.now,
      actor: w.actor,
      entity: 'interaction',
      entityId: n.interactionId,
      action: active ? 'xchat-import' : 'xchat-keys-created',
      changes: { keyVersion, fingerprint, origin: n.origin, ...(active ? { publicKeyVersion: n.registeredAs!.publicKeyVersion } : {}), ...w.auditExtra },
    });
    const row = await trx.selectFrom('xchat_identities').select(PUBLIC_COLUMNS).where('id', '=', Number(inserted.id)).executeTakeFirstOrThrow();
    return view(row as IdentityRow);
  });
}

/** X confirmed the registration of a pending identity under `publicKeyVersion`: it becomes the active one. */
export async function activateXChatIdentity(db: Kysely<Database>, identityId: number, publicKeyVersion: string, w: XChatWriteContext): Promise<XChatIdentityView> {
  return inTransaction(db, async (trx) => {
    const row = await trx.selectFrom('xchat_identities').select(PUBLIC_COLUMNS).where('id', '=', identityId).executeTakeFirst();
    if (!row || row.status !== 'pending') {
      throw new OmniError(`X Chat identity ${identityId} is not pending registration`, { hint: 'run omni interaction xchat status <interaction> to see the keys' });
    }
    await trx
      .updateTable('xchat_identities')
      .set({ status: 'retired', retired_at: w.now, updated_at: w.now })
      .where('interaction_id', '=', row.interaction_id)
      .where('status', '=', 'active')
      .execute();
    await trx
      .updateTable('xchat_identities')
      .set({ status: 'active', public_key_version: publicKeyVersion, registered_at: w.now, registration_json: null, updated_at: w.now })
      .where('id', '=', identityId)
      .execute();
    await recordAudit(trx, {
      at: w.now,
      actor: w.actor,
      entity: 'interaction',
      entityId: row.interaction_id,
      action: 'xchat-register',
      changes: { keyVersion: row.key_version, publicKeyVersion, fingerprint: row.fingerprint, ...w.auditExtra },
    });
    const out = await trx.selectFrom('xchat_identities').select(PUBLIC_COLUMNS).where('id', '=', identityId).executeTakeFirstOrThrow();
    return view(out as IdentityRow);
  });
}

async function identityFromRow(db: Kysely<Database>, box: SecretBox, r: { id: number; interaction_id: number; account_user_id: string; key_version: number; public_key_version: string | null; status: string }, versionForPending?: string): Promise<XChatIdentity> {
  const enc = await db.selectFrom('xchat_identities').select('key_blob_enc').where('id', '=', r.id).executeTakeFirstOrThrow();
  const blob = Buffer.from(box.decrypt(enc.key_blob_enc, blobField(r.interaction_id, r.key_version)), 'base64');
  try {
    const version = r.public_key_version ?? versionForPending;
    if (version === undefined) throw new OmniError('this X Chat identity has no registered key version yet', { hint: 'run omni interaction xchat setup <interaction> to finish its registration' });
    return await XChatIdentity.fromKeyBlob(r.account_user_id, blob, version);
  } finally {
    blob.fill(0);
  }
}

/** The active identity, decrypted into the SDK; undefined when X Chat is not set up. Dispose it after use. */
export async function loadActiveXChatIdentity(db: Kysely<Database>, box: SecretBox, interactionId: number): Promise<XChatIdentity | undefined> {
  const r = await db.selectFrom('xchat_identities').select(PUBLIC_COLUMNS).where('interaction_id', '=', interactionId).where('status', '=', 'active').executeTakeFirst();
  return r ? identityFromRow(db, box, r as IdentityRow) : undefined;
}

/** A pending identity (to retry its registration), loaded under the version its registration asked for. */
export async function loadPendingXChatIdentity(db: Kysely<Database>, box: SecretBox, identityId: number): Promise<XChatIdentity> {
  const r = await db.selectFrom('xchat_identities').select(PUBLIC_COLUMNS).where('id', '=', identityId).executeTakeFirstOrThrow();
  const reg = await pendingRegistration(db, identityId);
  return identityFromRow(db, box, r as IdentityRow, reg?.version ?? '1');
}

/** Every retired identity of an interaction, newest first, decrypted into the SDK. Dispose them after use. */
export async function loadRetiredXChatIdentities(db: Kysely<Database>, box: SecretBox, interactionId: number): Promise<XChatIdentity[]> {
  const rows = await db.selectFrom('xchat_identities').select(PUBLIC_COLUMNS).where('interaction_id', '=', interactionId).where('status', '=', 'retired').orderBy('key_version', 'desc').execute();
  const out: XChatIdentity[] = [];
  for (const r of rows) if (r.public_key_version !== null) out.push(await identityFromRow(db, box, r as IdentityRow));
  return out;
}

/** The retired identities whose registered version is `publicKeyVersion` (events encrypted to an old key). */
export async function loadXChatIdentityByPublicKeyVersion(db: Kysely<Database>, box: SecretBox, interactionId: number, publicKeyVersion: string): Promise<XChatIdentity | undefined> {
  const r = await db
    .selectFrom('xchat_identities')
    .select(PUBLIC_COLUMNS)
    .where('interaction_id', '=', interactionId)
    .where('public_key_version', '=', publicKeyVersion)
    .where('status', 'in', ['active', 'retired'])
    .executeTakeFirst();
  return r ? identityFromRow(db, box, r as IdentityRow) : undefined;
}

// ---- conversation keys ----

/** The stored keys of one conversation as a ring (decrypted into memory). */
export async function loadConversationRing(db: Kysely<Database>, box: SecretBox, interactionId: number, conversationId: string): Promise<ConversationKeyRing> {
  const id = signedConversationId(conversationId);
  const rows = await db.selectFrom('xchat_conversation_keys').select(['key_version', 'key_enc']).where('interaction_id', '=', interactionId).where('conversation_id', '=', id).execute();
  return new ConversationKeyRing(
    id,
    rows.map((r) => ({ version: r.key_version, key: Buffer.from(box.decrypt(r.key_enc, conversationKeyField(interactionId, id, r.key_version)), 'base64') })),
  );
}

/** Stores the ring's versions not stored yet; returns the versions it added. Never replaces a stored key. */
export async function saveConversationRing(db: Kysely<Database>, box: SecretBox, interactionId: number, ring: ConversationKeyRing, via: 'key-change' | 'created', now: string): Promise<string[]> {
  return inTransaction(db, async (trx) => {
    const have = new Set(
      (await trx.selectFrom('xchat_conversation_keys').select('key_version').where('interaction_id', '=', interactionId).where('conversation_id', '=', ring.conversationId).execute()).map((r) => r.key_version),
    );
    const added: string[] = [];
    for (const e of ring.exportEntries()) {
      if (have.has(e.version)) {
        e.key.fill(0);
        continue;
      }
      const key_enc = box.encrypt(Buffer.from(e.key).toString('base64'), conversationKeyField(interactionId, ring.conversationId, e.version));
      e.key.fill(0);
      await trx
        .insertInto('xchat_conversation_keys')
        .values({ interaction_id: interactionId, conversation_id: ring.conversationId, key_version: e.version, key_enc, via, created_at: now })
        .onConflict((oc) => oc.columns(['interaction_id', 'conversation_id', 'key_version']).doNothing())
        .execute();
      added.push(e.version);
    }
    return added;
  });
}

/** How many conversations and keys are cached for an interaction (status, doctor). */
export async function conversationKeyCounts(db: Kysely<Database>, interactionId: number): Promise<{ conversations: number; keys: number }> {
  const rows = await db.selectFrom('xchat_conversation_keys').select('conversation_id').where('interaction_id', '=', interactionId).execute();
  return { conversations: new Set(rows.map((r) => r.conversation_id)).size, keys: rows.length };
}

/**
 * The active identity of every interaction, for `omni export --include-secrets` only: the key blob in
 * base64 (secret) with the public facts apply needs to restore it without calling X.
 */
export async function exportXChatIdentities(db: Kysely<Database>, box: SecretBox): Promise<Map<number, { keyBlob: string; publicKeyVersion: string; accountUserId: string; fingerprint: string; identityPublicKeySignature?: string }>> {
  const rows = await db
    .selectFrom('xchat_identities')
    .select(['interaction_id', 'key_version', 'key_blob_enc', 'public_key_version', 'account_user_id', 'fingerprint', 'identity_public_key_signature'])
    .where('status', '=', 'active')
    .execute();
  const out = new Map<number, { keyBlob: string; publicKeyVersion: string; accountUserId: string; fingerprint: string; identityPublicKeySignature?: string }>();
  for (const r of rows) {
    if (r.public_key_version === null) continue;
    out.set(r.interaction_id, {
      keyBlob: box.decrypt(r.key_blob_enc, blobField(r.interaction_id, r.key_version)),
      publicKeyVersion: r.public_key_version,
      accountUserId: r.account_user_id,
      fingerprint: r.fingerprint,
      ...(r.identity_public_key_signature ? { identityPublicKeySignature: r.identity_public_key_signature } : {}),
    });
  }
  return out;
}
