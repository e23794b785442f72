// The provisioning file (`omni apply -f`): YAML or JSON declaring catalogs, parameters and
// interactions by name. Parsing collects every problem with its path in the file, so one run
// reports them all instead of the first.
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { parseSilence, SECRET_FIELDS, type ApiGeneration, type Secrets } from '../interactions/model.js';
import { apiRule, channelRule, silenceAlertRule } from '../interactions/rules.js';
import { problemLine } from '../interactions/problems.js';
import { catalogNameRule, catalogProblemFix, catalogProblemSentence, type CatalogProblem } from '../catalogs/write.js';
import type { CatalogKind } from '../db/catalogs.js';

export interface ActivityRef {
  name: string;
  portfolio?: string;
}

export interface DesiredInteraction {
  /** Where it stands in the file, e.g. `interactions[2]`. */
  path: string;
  name: string;
  channel: string;
  unit: string;
  group: string;
  activity: ActivityRef;
  contactOrigin: string;
  helperInterception: boolean;
  /** Absent: an existing interaction keeps its generation, a new one gets activity. */
  api?: ApiGeneration;
  /** Required only for api v1.1; absent: an existing interaction keeps its label. */
  devEnvironment?: string;
  callbackUrl: string;
  allowHttp: boolean;
  /** Seconds (null: off); absent: an existing interaction keeps its own, a new one has none. */
  silenceAlert?: number | null;
  /** Only the fields the file gives; absent ones keep their stored value (required to create). */
  credentials: Partial<Secrets>;
  /**
   * Credentials written as `${env:NAME}` with NAME unset or empty: omitted like an absent field, so an
   * existing interaction keeps its stored value; the plan refuses them for a new one, naming NAME.
   */
  unsetEnvCredentials: Partial<Record<keyof Secrets, string>>;
  /** The account's X Chat identity (written by `omni export --include-secrets`); absent: keep the stored one. */
  xchat?: DesiredXChat;
}

/** An X Chat identity to restore: the 64-byte key blob and the public facts X registered it under. */
export interface DesiredXChat {
  /** Base64 of the 64-byte blob (secret). */
  keyBlob: string;
  publicKeyVersion: string;
  accountUserId: string;
  /** The identity key's fingerprint; apply checks the blob against it. */
  fingerprint: string;
  identityPublicKeySignature?: string;
}

export interface DesiredState {
  units: string[];
  groups: string[];
  portfolios: { name: string; activities: string[] }[];
  contactOrigins: string[];
  contracts: string[];
  /** Parameter number → value as written (null: unset it). */
  parameters: Map<number, { value: string | null; path: string }>;
  interactions: DesiredInteraction[];
}

export interface DocError {
  path: string;
  message: string;
}

export class DocumentErrors extends Error {
  readonly exitCode = 2;
  readonly hint: string;
  constructor(readonly errors: DocError[], source: string) {
    super(`${source}: ${errors.length} error${errors.length === 1 ? '' : 's'}, nothing was changed\n` + errors.map((e) => `  ${e.path}: ${e.message}`).join('\n'));
    this.hint = 'fix the file and run again (omni apply --dry-run shows the plan without changing anything)';
  }
}

const TOP_KEYS = new Set(['version', 'units', 'groups', 'portfolios', 'contactOrigins', 'contracts', 'parameters', 'interactions']);
const INTERACTION_KEYS = new Set([
  'name', 'channel', 'api', 'unit', 'group', 'activity', 'contactOrigin', 'helperInterception',
  'devEnvironment', 'callbackUrl', 'allowHttp', 'credentials', 'xchat', 'silenceAlert',
]);
const XCHAT_KEYS = ['keyBlob', 'publicKeyVersion', 'accountUserId', 'fingerprint', 'identityPublicKeySignature'];

/** `${env:NAME}` and `${file:path}` keep secrets out of the committed file. */
const REF = /^\$\{(env|file):([^}]+)\}$/;

export interface ParseContext {
  env: NodeJS.ProcessEnv;
  /** Directory `${file:...}` paths are relative to. */
  baseDir: string;
  source: string;
}

/** The NAME of a `${env:NAME}` reference whose variable is unset or empty; undefined otherwise. */
function unsetEnvName(value: string, env: NodeJS.ProcessEnv): string | undefined {
  const m = REF.exec(value.trim());
  if (!m || m[1] !== 'env') return undefined;
  const v = env[m[2]!];
  return v === undefined || v === '' ? m[2]! : undefined;
}

function resolveRef(value: string, p: string, ctx: ParseContext, errors: DocError[]): string | undefined {
  const m = REF.exec(value.trim());
  if (!m) return value;
  const [, kind, name] = m as unknown as [string, 'env' | 'file', string];
  if (kind === 'env') {
    const v = ctx.env[name];
    if (v === undefined || v === '') {
      errors.push({ path: p, message: `environment variable ${name} is not set` });
      return undefined;
    }
    return v;
  }
  const file = path.resolve(ctx.baseDir, name);
  try {
    // One trailing newline is how secrets files usually end; it is not part of the secret.
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    errors.push({ path: p, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function catalogLine(p: CatalogProblem): string {
  const fix = catalogProblemFix(p);
  return fix ? `${catalogProblemSentence(p)}; ${fix}` : catalogProblemSentence(p);
}

function names(raw: unknown, p: string, errors: DocError[], kind: CatalogKind): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    errors.push({ path: p, message: 'must be a list of names' });
    return [];
  }
  const out: string[] = [];
  const seen = new Set<string>();
  raw.forEach((v, i) => {
    const name = typeof v === 'string' ? v.trim() : isObject(v) && typeof v.name === 'string' ? v.name.trim() : undefined;
    const problem = name ? catalogNameRule(kind, name) : undefined;
    if (!name) errors.push({ path: `${p}[${i}]`, message: 'must be a non-empty name' });
    else if (problem) errors.push({ path: `${p}[${i}]`, message: catalogLine(problem) });
    else if (seen.has(name)) errors.push({ path: `${p}[${i}]`, message: `'${name}' is declared twice` });
    else {
      seen.add(name);
      out.push(name);
    }
  });
  return out;
}

function str(obj: Record<string, unknown>, key: string, p: string, errors: DocError[], required = true): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === '') {
    if (required) errors.push({ path: `${p}.${key}`, message: 'is required' });
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number') {
    errors.push({ path: `${p}.${key}`, message: 'must be a string' });
    return undefined;
  }
  return String(v).trim();
}

function bool(obj: Record<string, unknown>, key: string, p: string, errors: DocError[]): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') {
    errors.push({ path: `${p}.${key}`, message: 'must be true or false' });
    return false;
  }
  return v;
}

function parseActivity(v: unknown, p: string, errors: DocError[]): ActivityRef | undefined {
  if (typeof v === 'string' && v.trim() !== '') return { name: v.trim() };
  if (isObject(v) && typeof v.name === 'string' && v.name.trim() !== '') {
    if (v.portfolio !== undefined && typeof v.portfolio !== 'string') {
      errors.push({ path: `${p}.portfolio`, message: 'must be a portfolio name' });
      return undefined;
    }
    return { name: v.name.trim(), ...(typeof v.portfolio === 'string' ? { portfolio: v.portfolio.trim() } : {}) };
  }
  errors.push({ path: p, message: v === undefined ? 'is required' : 'must be an activity name or { name, portfolio }' });
  return undefined;
}

function parseInteraction(raw: unknown, p: string, ctx: ParseContext, errors: DocError[]): DesiredInteraction | undefined {
  if (!isObject(raw)) {
    errors.push({ path: p, message: 'must be a mapping of interaction fields' });
    return undefined;
  }
  const before = errors.length;
  for (const key of Object.keys(raw)) {
    if (!INTERACTION_KEYS.has(key)) errors.push({ path: `${p}.${key}`, message: `unknown field (known: ${[...INTERACTION_KEYS].join(', ')})` });
  }
  const name = str(raw, 'name', p, errors);
  const channel = str(raw, 'channel', p, errors, false) ?? 'twitter-dm';
  // The interaction rules (src/interactions/rules.ts) check the other values when the plan is made.
  const channelProblem = channelRule(channel);
  if (channelProblem) errors.push({ path: `${p}.channel`, message: problemLine(channelProblem) });
  const api = str(raw, 'api', p, errors, false);
  const apiProblem = api === undefined ? undefined : apiRule(api);
  if (apiProblem) errors.push({ path: `${p}.api`, message: problemLine(apiProblem) });
  const unit = str(raw, 'unit', p, errors);
  const group = str(raw, 'group', p, errors);
  const activity = parseActivity(raw.activity, `${p}.activity`, errors);
  const contactOrigin = str(raw, 'contactOrigin', p, errors, false) ?? 'Twitter';
  // Whether it is required depends on the generation (and, for an existing interaction, the stored one): the plan checks it.
  const devEnvironment = str(raw, 'devEnvironment', p, errors, false);
  const callbackUrl = str(raw, 'callbackUrl', p, errors);
  const helperInterception = bool(raw, 'helperInterception', p, errors);
  const allowHttp = bool(raw, 'allowHttp', p, errors);
  const silenceRaw = str(raw, 'silenceAlert', p, errors, false);
  const silenceProblem = silenceRaw === undefined ? undefined : silenceAlertRule(silenceRaw);
  if (silenceProblem) errors.push({ path: `${p}.silenceAlert`, message: problemLine(silenceProblem) });
  const credentials: Partial<Secrets> = {};
  const unsetEnvCredentials: Partial<Record<keyof Secrets, string>> = {};
  if (raw.credentials !== undefined && raw.credentials !== null) {
    if (!isObject(raw.credentials)) errors.push({ path: `${p}.credentials`, message: `must be a mapping of ${SECRET_FIELDS.join(', ')}` });
    else {
      for (const key of Object.keys(raw.credentials)) {
        const cp = `${p}.credentials.${key}`;
        if (!(SECRET_FIELDS as readonly string[]).includes(key)) {
          errors.push({ path: cp, message: `unknown credential (known: ${SECRET_FIELDS.join(', ')})` });
          continue;
        }
        const v = raw.credentials[key];
        if (typeof v !== 'string' || v.trim() === '') {
          errors.push({ path: cp, message: 'must be a non-empty string, ideally ${env:NAME} or ${file:path}' });
          continue;
        }
        const envName = unsetEnvName(v, ctx.env);
        if (envName !== undefined) {
          unsetEnvCredentials[key as keyof Secrets] = envName;
          continue;
        }
        const resolved = resolveRef(v, cp, ctx, errors);
        if (resolved !== undefined) credentials[key as keyof Secrets] = resolved.trim();
      }
    }
  }
  const xchat = raw.xchat === undefined || raw.xchat === null ? undefined : parseXChat(raw.xchat, `${p}.xchat`, ctx, errors);
  if (errors.length > before) return undefined;
  return {
    ...(xchat ? { xchat } : {}),
    path: p,
    name: name!,
    channel,
    unit: unit!,
    group: group!,
    activity: activity!,
    contactOrigin,
    helperInterception,
    ...(api !== undefined ? { api: api as ApiGeneration } : {}),
    ...(devEnvironment !== undefined ? { devEnvironment } : {}),
    ...(silenceRaw !== undefined ? { silenceAlert: parseSilence(silenceRaw) ?? null } : {}),
    callbackUrl: callbackUrl!,
    allowHttp,
    credentials,
    unsetEnvCredentials,
  };
}

function parseXChat(raw: unknown, p: string, ctx: ParseContext, errors: DocError[]): DesiredXChat | undefined {
  if (!isObject(raw)) {
    errors.push({ path: p, message: `must be a mapping of ${XCHAT_KEYS.join(', ')} (omni export --include-secrets writes it)` });
    return undefined;
  }
  const before = errors.length;
  for (const key of Object.keys(raw)) if (!XCHAT_KEYS.includes(key)) errors.push({ path: `${p}.${key}`, message: `unknown key (known: ${XCHAT_KEYS.join(', ')})` });
  const given = str(raw, 'keyBlob', p, errors);
  const keyBlob = given === undefined ? undefined : resolveRef(given, `${p}.keyBlob`, ctx, errors)?.trim();
  if (keyBlob !== undefined && (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBlob) || Buffer.from(keyBlob, 'base64').length !== 64)) {
    errors.push({ path: `${p}.keyBlob`, message: 'must be the base64 of the 64-byte X Chat key blob (as omni export --include-secrets writes it)' });
  }
  const publicKeyVersion = str(raw, 'publicKeyVersion', p, errors);
  const accountUserId = str(raw, 'accountUserId', p, errors);
  if (accountUserId !== undefined && !/^[0-9]{1,19}$/.test(accountUserId)) errors.push({ path: `${p}.accountUserId`, message: 'must be an X user id (1-19 digits)' });
  const fingerprint = str(raw, 'fingerprint', p, errors);
  const signature = str(raw, 'identityPublicKeySignature', p, errors, false);
  if (errors.length > before) return undefined;
  return { keyBlob: keyBlob!, publicKeyVersion: publicKeyVersion!, accountUserId: accountUserId!, fingerprint: fingerprint!, ...(signature ? { identityPublicKeySignature: signature } : {}) };
}

/** Parses and shape-checks a document; throws DocumentErrors listing every problem. */
export function parseDesiredState(text: string, ctx: ParseContext): DesiredState {
  const errors: DocError[] = [];
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new DocumentErrors(
      doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}` : '(file)', message: e.message.split('\n')[0]! })),
      ctx.source,
    );
  }
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  const state: DesiredState = { units: [], groups: [], portfolios: [], contactOrigins: [], contracts: [], parameters: new Map(), interactions: [] };
  if (root === null || root === undefined) return state;
  if (!isObject(root)) throw new DocumentErrors([{ path: '(root)', message: 'must be a mapping with units, groups, portfolios, contactOrigins, contracts, parameters, interactions' }], ctx.source);
  for (const key of Object.keys(root)) {
    if (!TOP_KEYS.has(key)) errors.push({ path: key, message: `unknown section (known: ${[...TOP_KEYS].join(', ')})` });
  }
  if (root.version !== undefined && root.version !== 1) errors.push({ path: 'version', message: 'only version 1 is known' });
  state.units = names(root.units, 'units', errors, 'unit');
  state.groups = names(root.groups, 'groups', errors, 'group');
  state.contactOrigins = names(root.contactOrigins, 'contactOrigins', errors, 'origin');
  state.contracts = names(root.contracts, 'contracts', errors, 'contract');

  if (root.portfolios !== undefined && root.portfolios !== null) {
    if (!Array.isArray(root.portfolios)) errors.push({ path: 'portfolios', message: 'must be a list of { name, activities }' });
    else {
      const seen = new Set<string>();
      root.portfolios.forEach((raw, i) => {
        const p = `portfolios[${i}]`;
        const name = typeof raw === 'string' ? raw.trim() : isObject(raw) && typeof raw.name === 'string' ? raw.name.trim() : '';
        if (!name) return void errors.push({ path: p, message: 'needs a name' });
        const problem = catalogNameRule('portfolio', name);
        if (problem) return void errors.push({ path: `${p}.name`, message: catalogLine(problem) });
        if (seen.has(name)) return void errors.push({ path: `${p}.name`, message: `'${name}' is declared twice` });
        seen.add(name);
        const activities = isObject(raw) ? names(raw.activities, `${p}.activities`, errors, 'activity') : [];
        state.portfolios.push({ name, activities });
      });
    }
  }

  if (root.parameters !== undefined && root.parameters !== null) {
    if (!isObject(root.parameters)) errors.push({ path: 'parameters', message: 'must be a mapping of parameter number to value' });
    else {
      for (const [key, v] of Object.entries(root.parameters)) {
        const p = `parameters.${key}`;
        if (!/^\d+$/.test(key)) {
          errors.push({ path: p, message: 'parameters are keyed by their 4biz number, e.g. 118' });
          continue;
        }
        if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          errors.push({ path: p, message: 'must be a value (string or number), or null to unset it' });
          continue;
        }
        const value = v === null ? null : typeof v === 'boolean' ? (v ? 'Y' : 'N') : String(v);
        state.parameters.set(Number(key), { value, path: p });
      }
    }
  }

  if (root.interactions !== undefined && root.interactions !== null) {
    if (!Array.isArray(root.interactions)) errors.push({ path: 'interactions', message: 'must be a list' });
    else {
      const seen = new Map<string, { path: string; name: string }>();
      root.interactions.forEach((raw, i) => {
        const it = parseInteraction(raw, `interactions[${i}]`, ctx, errors);
        if (!it) return;
        // Names differing only in case are one name (as everywhere in omni).
        const prev = seen.get(it.name.toLowerCase());
        if (prev) errors.push({ path: `${it.path}.name`, message: `'${it.name}' is already declared at ${prev.path}${prev.name === it.name ? '' : ` as '${prev.name}' (names differing only in case are the same name)`}` });
        else seen.set(it.name.toLowerCase(), { path: it.path, name: it.name });
        state.interactions.push(it);
      });
    }
  }
  if (errors.length > 0) throw new DocumentErrors(errors, ctx.source);
  return state;
}
