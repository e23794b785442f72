// Which generation of X's API an interaction uses (`api`: 'v1.1' | 'v2' | 'activity'), and the app's
// OAuth 2.0 client credentials for `interaction authorize`. Rows from before this migration were set
// up for the premium Account Activity API with a dev environment label, so they become 'v1.1'; new
// interactions get 'activity' from the write path (src/interactions/write.ts), not from this default.
// The client id and secret are AES-GCM envelopes like the other credentials (src/secrets.ts); both
// are optional (a public client has no secret; v1.1 needs neither).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('interactions').addColumn('api', 'text', (c) => c.notNull().defaultTo('v1.1')).execute();
  await db.schema.alterTable('interactions').addColumn('client_id_enc', 'text').execute();
  await db.schema.alterTable('interactions').addColumn('client_secret_enc', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('interactions').dropColumn('client_secret_enc').execute();
  await db.schema.alterTable('interactions').dropColumn('client_id_enc').execute();
  await db.schema.alterTable('interactions').dropColumn('api').execute();
}
