// OAuth 2.0 user authorizations (X API v2 / Activity API), one row per interaction. Access and
// refresh tokens are AES-GCM envelopes (src/secrets.ts). X rotates the refresh token on every
// refresh and refuses the old one, so a refresh must happen once per rotation across every process
// on this file: `refresh_lease_owner`/`refresh_lease_until` are claimed by one atomic UPDATE, and
// `generation` counts rotations so a waiter can tell that someone else refreshed meanwhile.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('oauth_tokens')
    .addColumn('interaction_id', 'integer', (c) => c.primaryKey().references('interactions.id'))
    .addColumn('access_token_enc', 'text', (c) => c.notNull())
    .addColumn('refresh_token_enc', 'text')
    // ISO-8601 UTC: when X stops accepting the access token (2 h after issue).
    .addColumn('expires_at', 'text', (c) => c.notNull())
    // Space-separated, as X returns them.
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('account_user_id', 'text')
    .addColumn('account_username', 'text')
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('refreshed_at', 'text')
    .addColumn('refresh_lease_owner', 'text')
    .addColumn('refresh_lease_until', 'text')
    // Set when X refused the refresh token (or the user revoked the app): authorize again.
    .addColumn('lost_at', 'text')
    .addColumn('lost_reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('oauth_tokens').execute();
}
