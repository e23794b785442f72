// What the `omni param` verbs share: the parameter as shown (catalog ids named), and the number check.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { catalogLabels, getCatalogEntry } from '../../db/catalogs.js';
import { type ParameterRow } from '../../db/parameters.js';
import { PARAM_NUMBERS, parseParamNumber, type ParamDef } from '../../parameters.js';
import { UsageError } from '../../errors.js';

export interface ParamView {
  number: number;
  name: string;
  group: ParamDef['group'];
  value: string | null;
  /** The value for people: catalog ids also name their entry, e.g. "4 (Twitter)". */
  display: string | null;
  acted: boolean;
  use: string;
  updatedAt: string | null;
}

export function requireParam(raw: string): ParamDef {
  const def = parseParamNumber(raw);
  if (!def) throw new UsageError(`unknown parameter '${raw}'; known: ${PARAM_NUMBERS.join(', ')}`, 'list them with: omni param list');
  return def;
}

export async function display(db: Kysely<Database>, def: ParamDef, value: string | null): Promise<string | null> {
  if (value === null) return null;
  if (def.type.kind !== 'catalog' || !/^\d+$/.test(value)) return value;
  const entry = await getCatalogEntry(db, def.type.catalog, Number(value));
  // `rm` refuses referenced entries, so a missing one means the database was edited by hand.
  if (!entry) return `${value} (missing ${catalogLabels[def.type.catalog]})`;
  return def.type.catalog === 'activity' ? `${value} (${entry.name}, portfolio ${entry.portfolio_name})` : `${value} (${entry.name})`;
}

export async function view(db: Kysely<Database>, def: ParamDef, row: ParameterRow | undefined): Promise<ParamView> {
  const value = row?.value ?? null;
  return {
    number: def.number,
    name: def.name,
    group: def.group,
    value,
    display: await display(db, def, value),
    acted: def.acted,
    use: def.use,
    updatedAt: row?.updated_at ?? null,
  };
}

export async function loadView(db: Kysely<Database>, def: ParamDef): Promise<ParamView> {
  const row = await db.selectFrom('parameters').select(['number', 'value', 'updated_at']).where('number', '=', def.number).executeTakeFirst();
  return view(db, def, row);
}

export const actsLabel = (v: ParamView) => (v.acted ? 'acts' : 'stored only');
