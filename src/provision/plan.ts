// Desired state (the file) against current state (the database) → a plan of creates, updates and
// deletes with field-level diffs. Validation that needs the database happens here too, and every
// problem is collected with its path, so a bad file changes nothing and reports everything.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { listCatalog, type CatalogKind } from '../db/catalogs.js';
import { getParameters } from '../db/parameters.js';
import { listInteractions, type InteractionView } from '../db/interactions.js';
import { PARAMS, checkParamValue, paramDef } from '../parameters.js';
import { DEFAULT_API, SECRET_FIELDS, decryptSecrets, formatSilence, valuesFromRow, type ApiGeneration, type FieldName, type SecretField, type Secrets } from '../interactions/model.js';
import { interactionProblems, normalizeCallbackUrl, type RuledValues } from '../interactions/rules.js';
import { problemFix, problemLine, type Problem } from '../interactions/problems.js';
import type { SecretBox } from '../secrets.js';
import { DocumentErrors, type DesiredInteraction, type DesiredState, type DocError } from './document.js';

export type Entity = CatalogKind | 'parameter' | 'interaction';

export interface FieldDiff {
  field: string;
  from: string | boolean | null;
  to: string | boolean | null;
}

export interface PlanItem {
  op: 'create' | 'update' | 'delete';
  entity: Entity;
  /** Name of the entry (parameter number for parameters). */
  name: string;
  path?: string;
  /** Plain fields that change (all fields for a create). */
  fields: FieldDiff[];
  /** Secrets appear only as "changed" / "unchanged", never with values. */
  secrets?: Partial<Record<SecretField, 'changed' | 'unchanged'>>;
  /** The X Chat keys of an interaction: 'set' (none stored) or 'changed' (another identity); never values. */
  xchat?: 'set' | 'changed';
  /** Activities: their portfolio. */
  portfolio?: string;
}

export interface Plan {
  items: PlanItem[];
  /** The desired state the plan was made from (execute needs it). */
  desired: DesiredState;
  /** Interactions to prune, by id (with --prune). */
  prune: InteractionView[];
  /** What each interaction of the file points at, by its path in the file (execute builds the write path's draft from it). */
  resolved: Map<string, ResolvedInteraction>;
}

export interface CurrentState {
  catalogs: Record<Exclude<CatalogKind, 'activity'>, Map<string, number>>;
  activities: { id: number; name: string; portfolio: string }[];
  parameters: Map<number, string>;
  interactions: Map<string, InteractionView>;
  /** Interaction id → fingerprint of its active X Chat identity. */
  xchat: Map<number, string>;
}

export async function loadCurrentState(db: Kysely<Database>): Promise<CurrentState> {
  const byName = async (kind: Exclude<CatalogKind, 'activity'>) => new Map((await listCatalog(db, kind)).map((r) => [r.name, r.id]));
  return {
    catalogs: {
      unit: await byName('unit'),
      group: await byName('group'),
      portfolio: await byName('portfolio'),
      origin: await byName('origin'),
      contract: await byName('contract'),
    },
    activities: (await listCatalog(db, 'activity')).map((r) => ({ id: r.id, name: r.name, portfolio: r.portfolio_name ?? '' })),
    parameters: await getParameters(db),
    interactions: new Map((await listInteractions(db)).map((i) => [i.name, i])),
    xchat: new Map((await db.selectFrom('xchat_identities').select(['interaction_id', 'fingerprint']).where('status', '=', 'active').execute()).map((r) => [r.interaction_id, r.fingerprint])),
  };
}

/** Catalog names known once the plan is applied: the database's plus the file's. */
function knownNames(current: CurrentState, desired: DesiredState) {
  const with_ = (kind: Exclude<CatalogKind, 'activity'>, extra: string[]) => new Set([...current.catalogs[kind].keys(), ...extra]);
  const activities = [
    ...current.activities.map((a) => ({ name: a.name, portfolio: a.portfolio })),
    ...desired.portfolios.flatMap((p) => p.activities.map((name) => ({ name, portfolio: p.name }))),
  ];
  return {
    unit: with_('unit', desired.units),
    group: with_('group', desired.groups),
    portfolio: with_('portfolio', desired.portfolios.map((p) => p.name)),
    origin: with_('origin', desired.contactOrigins),
    contract: with_('contract', desired.contracts),
    activities: activities.filter((a, i) => activities.findIndex((b) => b.name === a.name && b.portfolio === a.portfolio) === i),
  };
}

type Known = ReturnType<typeof knownNames>;

/** A catalog reference in the file: a name (existing or declared) or an existing id. Returns the name. */
function catalogName(kind: Exclude<CatalogKind, 'activity'>, ref: string, current: CurrentState, known: Known): string | undefined {
  if (known[kind].has(ref)) return ref;
  if (/^\d+$/.test(ref)) {
    for (const [name, id] of current.catalogs[kind]) if (id === Number(ref)) return name;
  }
  return undefined;
}

function activityRef(ref: { name: string; portfolio?: string }, current: CurrentState, known: Known): { match?: { name: string; portfolio: string }; error?: string } {
  let matches = known.activities.filter((a) => a.name === ref.name && (ref.portfolio === undefined || a.portfolio === ref.portfolio));
  if (matches.length === 0 && /^\d+$/.test(ref.name)) {
    const byId = current.activities.find((a) => a.id === Number(ref.name));
    if (byId) matches = [{ name: byId.name, portfolio: byId.portfolio }];
  }
  if (matches.length === 1) return { match: matches[0]! };
  if (matches.length > 1) return { error: `activity '${ref.name}' exists in portfolios ${matches.map((m) => `'${m.portfolio}'`).join(', ')}: write { name, portfolio }` };
  return { error: `no activity '${ref.name}'${ref.portfolio ? ` in portfolio '${ref.portfolio}'` : ''}: declare it under portfolios or create it with omni activity add` };
}

function activityLabel(a: { name: string; portfolio: string | null }): string {
  return `${a.portfolio ?? '?'} / ${a.name}`;
}

/** The value a parameter would hold, shown as the file writes it (names for catalog ids). */
function paramDisplay(number: number, stored: string | undefined, current: CurrentState): string | null {
  if (stored === undefined) return null;
  const def = paramDef(number);
  if (def?.type.kind === 'catalog') {
    const kind = def.type.catalog;
    if (kind === 'activity') {
      const a = current.activities.find((x) => x.id === Number(stored));
      return a ? activityLabel(a) : stored;
    }
    for (const [name, id] of current.catalogs[kind]) if (id === Number(stored)) return name;
  }
  return stored;
}

function planParameter(number: number, value: string | null, p: string, current: CurrentState, known: Known, errors: DocError[]): PlanItem | undefined {
  const def = paramDef(number);
  if (!def) {
    errors.push({ path: p, message: `unknown parameter (known: ${PARAMS.map((x) => x.number).join(', ')})` });
    return undefined;
  }
  const stored = current.parameters.get(number);
  const from = paramDisplay(number, stored, current);
  if (value === null) return stored === undefined ? undefined : { op: 'delete', entity: 'parameter', name: String(number), path: p, fields: [{ field: 'value', from, to: null }] };
  const check = checkParamValue(def, value);
  let to: string;
  if (check.status === 'invalid') return void errors.push({ path: p, message: `${check.message} (${check.hint})` });
  if (check.status === 'ok') to = check.value;
  else if (check.catalog === 'activity') {
    // "Portfolio / Activity" names one activity even when its name repeats across portfolios.
    const parts = check.ref.split(/\s*\/\s*/);
    const r = activityRef(parts.length === 2 ? { portfolio: parts[0]!, name: parts[1]! } : { name: check.ref }, current, known);
    if (r.error) return void errors.push({ path: p, message: `parameter ${number} (${def.name}): ${r.error}` });
    to = activityLabel(r.match!);
  } else {
    const name = catalogName(check.catalog, check.ref, current, known);
    if (name === undefined) return void errors.push({ path: p, message: `parameter ${number} (${def.name}): no ${check.catalog === 'origin' ? 'contact origin' : check.catalog} '${check.ref}'` });
    to = name;
  }
  if (from === to) return undefined;
  return { op: stored === undefined ? 'create' : 'update', entity: 'parameter', name: String(number), path: p, fields: [{ field: 'value', from, to }] };
}

/** The key of the file that gives a field, under the interaction's path. */
function fileKey(field: FieldName): string {
  return (SECRET_FIELDS as readonly string[]).includes(field) ? `credentials.${field}` : field;
}

/** How to fix a problem in the file: the same sentence as on the command line, the fix names the file's key. */
export function fileFix(p: Problem): string | undefined {
  switch (p.code) {
    case 'http-needs-allow-http':
      return 'set allowHttp: true on this interaction for a local set-up';
    case 'name-taken':
      return p.holder !== undefined && p.holder !== p.value
        ? `write the name as '${p.holder}' to update that interaction, or choose another name`
        : 'choose another name';
    case 'env-label-needs-v1.1':
      return 'set devEnvironment to the "Dev environment label" of Twitter Developer, or use X\'s current API: api: activity';
    default:
      return problemFix(p);
  }
}

/** A rule's problem as `omni apply` reports it: the document path of the value, the sentence, the fix. */
export function fileError(path: string, p: Problem): DocError {
  return { path: `${path}.${fileKey(p.field)}`, message: problemLine(p, fileFix(p)) };
}

/** The catalog entries an interaction of the file points at, by name, as the plan resolved them. */
export interface ResolvedInteraction {
  unit: string;
  group: string;
  activity: { name: string; portfolio: string };
  contactOrigin: string;
  /** The stored form of the callback URL (no trailing slash). */
  callbackUrl: string;
  /** The generation and label to store: the file's, else the stored ones, else activity and none. */
  api: ApiGeneration;
  devEnvironment: string;
  /** Seconds or null (off): the file's, else the stored one, else off. */
  silenceAlert: number | null;
}

function planInteraction(
  it: DesiredInteraction,
  current: CurrentState,
  known: Known,
  box: () => SecretBox,
  errors: DocError[],
  resolved: Map<string, ResolvedInteraction>,
): PlanItem | undefined {
  const before = errors.length;
  const unit = catalogName('unit', it.unit, current, known);
  if (unit === undefined) errors.push({ path: `${it.path}.unit`, message: `no unit '${it.unit}': declare it under units or create it with omni unit add` });
  const group = catalogName('group', it.group, current, known);
  if (group === undefined) errors.push({ path: `${it.path}.group`, message: `no group '${it.group}': declare it under groups or create it with omni group add` });
  const origin = catalogName('origin', it.contactOrigin, current, known);
  if (origin === undefined) errors.push({ path: `${it.path}.contactOrigin`, message: `no contact origin '${it.contactOrigin}': declare it under contactOrigins` });
  const act = activityRef(it.activity, current, known);
  if (act.error) errors.push({ path: `${it.path}.activity`, message: act.error });
  const existing = current.interactions.get(it.name);
  // The rules of the write path (src/interactions/write.ts): all values of a new interaction; of an
  // existing one, what changes (compared in stored form below, so checked here as written).
  const stored = existing ? valuesFromRow(existing) : undefined;
  const api = it.api ?? stored?.api ?? DEFAULT_API;
  const devEnvironment = it.devEnvironment ?? stored?.devEnvironment ?? '';
  const ruledValues: Partial<RuledValues> = {};
  if (!stored || it.channel !== stored.channel) ruledValues.channel = it.channel;
  if (!stored) ruledValues.name = it.name;
  // The label's rule depends on the generation: a change to either checks the pair.
  if (!stored || api !== stored.api || devEnvironment !== stored.devEnvironment) {
    ruledValues.api = api;
    ruledValues.devEnvironment = devEnvironment;
  }
  if (!stored || !sameUrl(it.callbackUrl, stored.callbackUrl)) ruledValues.callbackUrl = it.callbackUrl;
  for (const p of interactionProblems(ruledValues, it.credentials, { allowHttp: it.allowHttp })) errors.push(fileError(it.path, p));
  if (!existing) {
    // Names differing only in case are one name: 'support' may not be created beside 'Support'.
    const wanted = it.name.toLowerCase();
    const holder = [...current.interactions.keys()].find((n) => n.toLowerCase() === wanted);
    if (holder !== undefined) errors.push(fileError(it.path, { field: 'name', code: 'name-taken', value: it.name, holder }));
    // An unset ${env:NAME} is an omitted credential: fine for an existing interaction (kept), not for a new one.
    for (const [f, name] of Object.entries(it.unsetEnvCredentials)) {
      errors.push({ path: `${it.path}.credentials.${f}`, message: `environment variable ${name} is not set (a new interaction needs its ${f}; set ${name})` });
    }
    const missing = SECRET_FIELDS.filter((f) => it.credentials[f] === undefined && it.unsetEnvCredentials[f] === undefined);
    if (missing.length > 0) errors.push({ path: `${it.path}.credentials`, message: `a new interaction needs ${missing.join(', ')}` });
  }
  if (errors.length > before) return undefined;
  const callbackUrl = normalizeCallbackUrl(it.callbackUrl);
  const silenceAlert = it.silenceAlert !== undefined ? it.silenceAlert : (existing?.silence_alert_seconds ?? null);
  resolved.set(it.path, { unit: unit!, group: group!, activity: act.match!, contactOrigin: origin!, callbackUrl, api, devEnvironment, silenceAlert });

  const want: Record<string, string | boolean> = {
    channel: it.channel,
    api,
    unit: unit!,
    group: group!,
    activity: activityLabel(act.match!),
    contactOrigin: origin!,
    helperInterception: it.helperInterception,
    devEnvironment,
    callbackUrl,
    silenceAlert: silenceAlert === null ? 'off' : formatSilence(silenceAlert),
  };
  if (!existing) {
    return {
      op: 'create',
      entity: 'interaction',
      name: it.name,
      path: it.path,
      fields: Object.entries(want).map(([field, to]) => ({ field, from: null, to })),
      secrets: Object.fromEntries(SECRET_FIELDS.map((f) => [f, 'changed' as const])),
      ...(it.xchat ? { xchat: 'set' as const } : {}),
    };
  }
  const have: Record<string, string | boolean> = {
    channel: existing.channel,
    api: existing.api,
    unit: existing.unit_name ?? '',
    group: existing.group_name ?? '',
    activity: activityLabel({ name: existing.activity_name ?? '', portfolio: existing.portfolio_name }),
    contactOrigin: existing.contact_origin_name ?? '',
    helperInterception: existing.helper_interception === 1,
    devEnvironment: existing.dev_environment,
    callbackUrl: existing.callback_url,
    silenceAlert: existing.silence_alert_seconds == null ? 'off' : formatSilence(existing.silence_alert_seconds),
  };
  const fields = Object.keys(want)
    .filter((f) => want[f] !== have[f])
    .map((field) => ({ field, from: have[field]!, to: want[field]! }));
  const secrets: Partial<Record<SecretField, 'changed' | 'unchanged'>> = {};
  const given = SECRET_FIELDS.filter((f) => it.credentials[f] !== undefined);
  if (given.length > 0) {
    const stored: Secrets = decryptSecrets(existing, box());
    for (const f of given) secrets[f] = stored[f] === it.credentials[f] ? 'unchanged' : 'changed';
  }
  const secretsChange = Object.values(secrets).some((s) => s === 'changed');
  const storedXChat = current.xchat.get(existing.id);
  const xchat = it.xchat && it.xchat.fingerprint !== storedXChat ? (storedXChat === undefined ? 'set' : 'changed') : undefined;
  if (fields.length === 0 && !secretsChange && !xchat) return undefined;
  return { op: 'update', entity: 'interaction', name: it.name, path: it.path, fields, secrets, ...(xchat ? { xchat } : {}) };
}

export interface PlanOptions {
  prune?: boolean;
}

/** Two callback URLs that are stored the same ('https://h/' and 'https://h'). */
function sameUrl(given: string, stored: string): boolean {
  try {
    return normalizeCallbackUrl(given) === stored;
  } catch {
    return false;
  }
}

/** Builds the plan or throws DocumentErrors with every problem found. */
export function makePlan(desired: DesiredState, current: CurrentState, box: () => SecretBox, source: string, opts: PlanOptions = {}): Plan {
  const errors: DocError[] = [];
  const items: PlanItem[] = [];
  const known = knownNames(current, desired);
  const createMissing = (kind: Exclude<CatalogKind, 'activity'>, list: string[], section: string) =>
    list.forEach((name, i) => {
      if (!current.catalogs[kind].has(name)) items.push({ op: 'create', entity: kind, name, path: `${section}[${i}]`, fields: [{ field: 'name', from: null, to: name }] });
    });
  createMissing('unit', desired.units, 'units');
  createMissing('group', desired.groups, 'groups');
  createMissing('origin', desired.contactOrigins, 'contactOrigins');
  createMissing('contract', desired.contracts, 'contracts');
  desired.portfolios.forEach((p, i) => {
    if (!current.catalogs.portfolio.has(p.name)) items.push({ op: 'create', entity: 'portfolio', name: p.name, path: `portfolios[${i}]`, fields: [{ field: 'name', from: null, to: p.name }] });
    p.activities.forEach((a, j) => {
      if (!current.activities.some((x) => x.name === a && x.portfolio === p.name)) {
        items.push({ op: 'create', entity: 'activity', name: a, portfolio: p.name, path: `portfolios[${i}].activities[${j}]`, fields: [{ field: 'name', from: null, to: a }, { field: 'portfolio', from: null, to: p.name }] });
      }
    });
  });
  for (const [number, { value, path }] of desired.parameters) {
    const item = planParameter(number, value, path, current, known, errors);
    if (item) items.push(item);
  }
  const resolved = new Map<string, ResolvedInteraction>();
  let cachedBox: SecretBox | undefined;
  const lazyBox = () => (cachedBox ??= box());
  for (const it of desired.interactions) {
    const item = planInteraction(it, current, known, lazyBox, errors, resolved);
    if (item) items.push(item);
  }
  const prune: InteractionView[] = [];
  if (opts.prune) {
    const declared = new Set(desired.interactions.map((i) => i.name));
    for (const [name, row] of current.interactions) {
      if (declared.has(name)) continue;
      prune.push(row);
      items.push({ op: 'delete', entity: 'interaction', name, fields: [] });
    }
  }
  if (errors.length > 0) throw new DocumentErrors(errors, source);
  return { items, desired, prune, resolved };
}
