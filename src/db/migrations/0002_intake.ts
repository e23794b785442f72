// Indexes for the intake and the ticket commands. `ticket list --interaction N` pages newest first
// within one status; without this index it would scan every ticket of that status.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('tickets_interaction_status_id')
    .on('tickets')
    .columns(['interaction_id', 'status', 'id'])
    .execute();
  // `ticket list --requester` and `requester show`: newest tickets of one requester.
  await db.schema.createIndex('tickets_requester_id').on('tickets').columns(['requester_id', 'id']).execute();
  await db.schema.dropIndex('tickets_requester').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('tickets_requester').on('tickets').column('requester_id').execute();
  await db.schema.dropIndex('tickets_requester_id').execute();
  await db.schema.dropIndex('tickets_interaction_status_id').execute();
}
