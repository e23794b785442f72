// The one write path of catalog entries (units, groups, portfolios, activities, contact origins,
// contracts): the name rule → the row and its audit record, in one transaction. Used by the catalog
// commands, the wizard's "Create new…" and `omni apply`.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { addCatalogEntry, catalogLabels, findCatalogEntry, removeCatalogEntry, type CatalogKind, type CatalogRow } from '../db/catalogs.js';
import { recordAudit } from '../db/audit.js';
import { inTransaction } from '../db/transaction.js';
import { paramsReferencing } from '../parameters.js';

export type CatalogProblemCode = 'empty' | 'digits-only';

export interface CatalogProblem {
  kind: CatalogKind;
  field: 'name';
  code: CatalogProblemCode;
  value: string;
}

/** The rule for a catalog entry's name: non-empty, and not all digits (ids and names share one reference syntax). */
export function catalogNameRule(kind: CatalogKind, name: string): CatalogProblem | undefined {
  const value = name.trim();
  if (value === '') return { kind, field: 'name', code: 'empty', value };
  if (/^\d+$/.test(value)) return { kind, field: 'name', code: 'digits-only', value };
  return undefined;
}

/** What is wrong, in the same words on every surface. */
export function catalogProblemSentence(p: CatalogProblem): string {
  return p.code === 'empty' ? `a ${catalogLabels[p.kind]} needs a non-empty name` : `'${p.value}' looks like an id`;
}

/** How to fix it, the same on every surface. */
export function catalogProblemFix(p: CatalogProblem): string | undefined {
  return p.code === 'digits-only' ? `give the ${catalogLabels[p.kind]} a name with letters (ids are assigned by omni)` : undefined;
}

export class CatalogRefused extends Error {
  readonly exitCode = 2;
  readonly hint: string | undefined;
  constructor(readonly problem: CatalogProblem) {
    super(catalogProblemSentence(problem));
    this.name = 'CatalogRefused';
    this.hint = catalogProblemFix(problem);
  }
}

export interface CatalogWriteContext {
  now: string;
  actor: string;
  auditExtra?: Record<string, unknown>;
}

/** Creates an entry (an activity in `portfolio`) with its audit record; refuses a bad name (CatalogRefused). */
export async function createCatalogEntry(
  db: Kysely<Database>,
  kind: CatalogKind,
  rawName: string,
  w: CatalogWriteContext,
  portfolio?: { id: number; name: string },
): Promise<CatalogRow> {
  const problem = catalogNameRule(kind, rawName);
  if (problem) throw new CatalogRefused(problem);
  const name = rawName.trim();
  return inTransaction(db, async (trx) => {
    const created = await addCatalogEntry(trx, kind, name, w.now, portfolio?.id);
    await recordAudit(trx, {
      at: w.now,
      actor: w.actor,
      entity: kind,
      entityId: created.id,
      action: 'create',
      changes: { name, ...(portfolio ? { portfolio: portfolio.name } : {}), ...w.auditExtra },
    });
    return { ...created, ...(portfolio ? { portfolio_name: portfolio.name } : {}) };
  });
}

/**
 * Removes the entry `ref` (id or name; an activity within `portfolioRef` when given) with its audit
 * record; refuses while anything (interactions, tickets, requesters, parameters) still points at it.
 */
export async function removeCatalogEntryByRef(
  db: Kysely<Database>,
  kind: CatalogKind,
  ref: string,
  w: CatalogWriteContext,
  portfolioRef?: string,
): Promise<CatalogRow> {
  return inTransaction(db, async (trx) => {
    const portfolio = portfolioRef ? await findCatalogEntry(trx, 'portfolio', portfolioRef) : undefined;
    const entry = await findCatalogEntry(trx, kind, ref, portfolio?.id);
    await removeCatalogEntry(trx, kind, entry, paramsReferencing(kind));
    await recordAudit(trx, { at: w.now, actor: w.actor, entity: kind, entityId: entry.id, action: 'delete', changes: { name: entry.name, ...w.auditExtra } });
    return entry;
  });
}
