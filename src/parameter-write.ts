// The one write path of the numbered parameters: the value rules of src/params.ts → a catalog name
// looked up to its id → the row and its audit record, in one transaction. Used by `omni param` and
// `omni apply`.
import type { Kysely } from 'kysely';
import type { Database } from './db/schema.js';
import { findCatalogEntry } from './db/catalogs.js';
import { getParameter, setParameter, unsetParameter } from './db/parameters.js';
import { recordAudit } from './db/audit.js';
import { inTransaction } from './db/transaction.js';
import { checkParamValue, type ParamDef } from './parameters.js';

export interface ParameterWriteContext {
  now: string;
  actor: string;
  auditExtra?: Record<string, unknown>;
}

/** A value the rules refused: the message says what is wrong, the hint how to fix it. */
export class ParameterRefused extends Error {
  readonly exitCode = 2;
  constructor(message: string, readonly hint: string) {
    super(message);
    this.name = 'ParameterRefused';
  }
}

/** What a set did: the value before and after (equal: nothing was written). */
export interface ParameterChange {
  old: string | null;
  value: string;
}

/**
 * The stored value for a catalog reference: an id, or a name. An activity may be written
 * "Portfolio / Activity", which names one activity even when its name repeats across portfolios.
 */
async function catalogValue(db: Kysely<Database>, kind: Parameters<typeof findCatalogEntry>[1], ref: string): Promise<string> {
  if (kind === 'activity') {
    const parts = ref.split(/\s*\/\s*/);
    if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') {
      const portfolio = await findCatalogEntry(db, 'portfolio', parts[0]!);
      return String((await findCatalogEntry(db, 'activity', parts[1]!, portfolio.id)).id);
    }
  }
  return String((await findCatalogEntry(db, kind, ref)).id);
}

/**
 * Sets a parameter from a typed value (validated here; a catalog name is looked up inside the
 * transaction) with its audit record; writes nothing when the value is already stored.
 */
export async function setParameterValue(db: Kysely<Database>, def: ParamDef, raw: string, w: ParameterWriteContext): Promise<ParameterChange> {
  const check = checkParamValue(def, raw);
  if (check.status === 'invalid') throw new ParameterRefused(check.message, check.hint);
  return inTransaction(db, async (trx) => {
    const value = check.status === 'lookup' ? await catalogValue(trx, check.catalog, check.ref) : check.value;
    const old = (await getParameter(trx, def.number)) ?? null;
    if (old !== value) {
      await setParameter(trx, def.number, value, w.now);
      await recordAudit(trx, { at: w.now, actor: w.actor, entity: 'parameter', entityId: def.number, action: 'set', changes: { value: { from: old, to: value }, ...w.auditExtra } });
    }
    return { old, value };
  });
}

/** Unsets a parameter with its audit record; returns the old value (null: it was not set, nothing written). */
export async function unsetParameterValue(db: Kysely<Database>, def: ParamDef, w: ParameterWriteContext): Promise<string | null> {
  return inTransaction(db, async (trx) => {
    const old = (await getParameter(trx, def.number)) ?? null;
    if (old !== null) {
      await unsetParameter(trx, def.number);
      await recordAudit(trx, { at: w.now, actor: w.actor, entity: 'parameter', entityId: def.number, action: 'unset', changes: { value: { from: old, to: null }, ...w.auditExtra } });
    }
    return old;
  });
}
