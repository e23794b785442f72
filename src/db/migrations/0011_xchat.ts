// X Chat (end-to-end encrypted DMs, issue 16). `xchat_identities`: the account's X Chat identity per
// interaction, one row per key version omni created or imported (rotation adds a row and retires the
// previous one, kept so that events encrypted to it can still be read). The 64-byte private key blob
// is an AES-GCM envelope (src/secrets.ts) bound to its row; everything else is public material (the
// registered public keys, the fingerprint, the registration body). `pending` rows hold keys whose
// registration at X has not been confirmed yet, so a failed run retries with the same keys instead of
// spending another of X's few registrations per day. `xchat_conversation_keys`: the conversation keys
// learned from verified key changes (or created by omni), encrypted, so a restart needs no history.
import type { Kysely } from 'kysely';
import { id } from './portable.js';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('xchat_identities')
    .addColumn('id', 'integer', id(db))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    .addColumn('account_user_id', 'text', (c) => c.notNull())
    // omni's own counter per interaction: 1 for the first identity, +1 per rotation.
    .addColumn('key_version', 'integer', (c) => c.notNull())
    // X's public_key_version; null while pending.
    .addColumn('public_key_version', 'text')
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('signing_public_key', 'text', (c) => c.notNull())
    .addColumn('identity_public_key_signature', 'text')
    // The public body of POST /2/users/{id}/public_keys (generated identities), to retry it as is.
    .addColumn('registration_json', 'text')
    .addColumn('key_blob_enc', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull()) // 'generated' | 'imported'
    .addColumn('status', 'text', (c) => c.notNull()) // 'pending' | 'active' | 'retired'
    .addColumn('registered_at', 'text')
    .addColumn('retired_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('xchat_identities_interaction_key_version', ['interaction_id', 'key_version'])
    .execute();

  await db.schema
    .createTable('xchat_conversation_keys')
    // A one-column key: `omni db copy` pages every table by its primary key.
    .addColumn('id', 'integer', id(db))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    // `lo:hi` as signed inside events (group ids `g…` as they are).
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('key_version', 'text', (c) => c.notNull())
    .addColumn('key_enc', 'text', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull()) // 'key-change' (verified) | 'created' (omni started it)
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('xchat_conversation_keys_version', ['interaction_id', 'conversation_id', 'key_version'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('xchat_conversation_keys').execute();
  await db.schema.dropTable('xchat_identities').execute();
}
