// What the catalog verbs and the interaction wizard share: the entry JSON and creating an entry through
// the catalog write path (src/catalogs/write.ts: rules, row and audit record in one transaction).
import type { Context } from '../../cli/context.js';
import type { CatalogKind, CatalogRow } from '../../db/catalogs.js';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { createCatalogEntry as createEntry } from '../../catalogs/write.js';

export function catalogJson(kind: CatalogKind, row: CatalogRow) {
  return kind === 'activity'
    ? { id: row.id, name: row.name, portfolio: { id: row.portfolio_id, name: row.portfolio_name }, createdAt: row.created_at }
    : { id: row.id, name: row.name, createdAt: row.created_at };
}

/** Creates an entry with its audit record (the `add` command and the wizard's "Create new…"), through the catalog write path. */
export async function createCatalogEntry(
  ctx: Pick<Context, 'clock' | 'actor'>,
  db: Kysely<Database>,
  kind: CatalogKind,
  name: string,
  portfolio?: { id: number; name: string },
): Promise<CatalogRow> {
  return createEntry(db, kind, name, { now: ctx.clock().toISOString(), actor: ctx.actor }, portfolio);
}
