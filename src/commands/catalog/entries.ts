// What the catalog verbs and the interaction wizard share: the entry JSON, the name rule, and creating an
// entry with its audit record in one transaction.
import type { Context } from '../../cli/context.js';
import { addCatalogEntry, catalogLabels, type CatalogKind, type CatalogRow } from '../../db/catalogs.js';
import { recordAudit } from '../../db/audit.js';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { UsageError } from '../../errors.js';

export function catalogJson(kind: CatalogKind, row: CatalogRow) {
  return kind === 'activity'
    ? { id: row.id, name: row.name, portfolio: { id: row.portfolio_id, name: row.portfolio_name }, createdAt: row.created_at }
    : { id: row.id, name: row.name, createdAt: row.created_at };
}

export function cleanName(kind: CatalogKind, name: string): string {
  const n = name.trim();
  if (n === '') throw new UsageError(`a ${catalogLabels[kind]} needs a non-empty name`);
  if (/^\d+$/.test(n)) throw new UsageError(`'${n}' looks like an id; give the ${catalogLabels[kind]} a name with letters`, 'ids are assigned by omni');
  return n;
}

/** Creates an entry with its audit record in one transaction (the `add` command and the wizard's "Create new…"). */
export async function createCatalogEntry(
  ctx: Pick<Context, 'clock' | 'actor'>,
  db: Kysely<Database>,
  kind: CatalogKind,
  name: string,
  portfolio?: { id: number; name: string },
): Promise<CatalogRow> {
  return db.transaction().execute(async (trx) => {
    const now = ctx.clock().toISOString();
    const created = await addCatalogEntry(trx, kind, name, now, portfolio?.id);
    await recordAudit(trx, {
      at: now,
      actor: ctx.actor,
      entity: kind,
      entityId: created.id,
      action: 'create',
      changes: { name, ...(portfolio ? { portfolio: portfolio.name } : {}) },
    });
    return { ...created, ...(portfolio ? { portfolio_name: portfolio.name } : {}) };
  });
}
