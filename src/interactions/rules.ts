// Input rules shared by the wizard and by scripted runs: the same checks, the same messages, and
// the one list of what is missing when nothing may be asked.
import { UsageError } from '../errors.js';
import {
  parseSilence,
  SILENCE_ALERT_BOUNDS,
  API_GENERATIONS,
  CHANNELS,
  DEFAULT_API,
  FORM_ORDER,
  isApiGeneration,
  OAUTH_ENV,
  OAUTH_FIELDS,
  type ApiGeneration,
  type OAuthField,
  type OAuthSecrets,
  SECRET_ENV,
  SECRET_FIELDS,
  isChannel,
  type Channel,
  type FieldName,
  type SecretField,
  type Secrets,
} from './model.js';
import { problemFix, problemSentence, type Problem } from './problems.js';

/** How each field is given when not interactive: the flag, or for secrets the environment variable. */
export const FIELD_SOURCES: Record<FieldName, string> = {
  name: '--name',
  channel: '--channel',
  api: '--api',
  unit: '--unit',
  group: '--group',
  activity: '--activity',
  contactOrigin: '--origin',
  helperInterception: '--helper/--no-helper',
  devEnvironment: '--env-label',
  apiKey: `${SECRET_ENV.apiKey} (or --secrets-file)`,
  apiSecretKey: `${SECRET_ENV.apiSecretKey} (or --secrets-file)`,
  accessToken: `${SECRET_ENV.accessToken} (or --secrets-file)`,
  accessTokenSecret: `${SECRET_ENV.accessTokenSecret} (or --secrets-file)`,
  callbackUrl: '--callback-url',
  silenceAlert: '--silence-alert',
};

export const NAME_MAX = 100;

// The one set of value rules for interactions. Each returns a Problem (a code, never a sentence) or
// undefined; src/interactions/write.ts applies them to every write, whatever surface it comes from.

export function nameRule(value: string): Problem | undefined {
  const v = value.trim();
  if (v === '') return { field: 'name', code: 'empty' };
  // Interactions are referenced "by id or name": an all-digit name would be shadowed by an id.
  if (/^\d+$/.test(v)) return { field: 'name', code: 'digits-only', value: v };
  if (v.length > NAME_MAX) return { field: 'name', code: 'too-long', length: v.length, limit: NAME_MAX };
  if (/[\u0000-\u001f\u007f]/.test(v)) return { field: 'name', code: 'control-characters' };
  return undefined;
}

export function channelRule(value: string): Problem | undefined {
  return isChannel(value) ? undefined : { field: 'channel', code: 'unknown-channel', value, known: Object.keys(CHANNELS) };
}

export function apiRule(value: string): Problem | undefined {
  return isApiGeneration(value) ? undefined : { field: 'api', code: 'unknown-api', value, known: Object.keys(API_GENERATIONS) };
}

/**
 * The dev environment label as the generation wants it: required (and a valid label) for v1.1;
 * for v2 and activity it may be empty (it is not used), and a label given anyway must still be valid.
 */
export function devEnvironmentRule(api: string, value: string): Problem | undefined {
  if (value.trim() === '') return api === 'v1.1' ? { field: 'devEnvironment', code: 'env-label-needs-v1.1' } : undefined;
  return envLabelRule(value);
}

/** The Twitter dev environment label ends up in API paths (/account_activity/all/<label>/...). */
export function envLabelRule(value: string): Problem | undefined {
  const v = value.trim();
  if (v === '') return { field: 'devEnvironment', code: 'empty' };
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) return { field: 'devEnvironment', code: 'bad-env-label', value: v };
  return undefined;
}

export function secretRule(field: SecretField, value: string): Problem | undefined {
  const v = value.trim();
  if (v === '') return { field, code: 'empty' };
  // Credentials copied from the developer portal never contain spaces; one usually means a bad paste.
  if (/\s/.test(v)) return { field, code: 'whitespace' };
  if (v.length > 512) return { field, code: 'too-long', length: v.length, limit: 512 };
  return undefined;
}

export function callbackUrlRule(value: string, allowHttp: boolean): Problem | undefined {
  const field = 'callbackUrl';
  const v = value.trim();
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return { field, code: v === '' ? 'empty' : 'not-a-url', value: v };
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    return { field, code: url.protocol === 'http:' ? 'http-needs-allow-http' : 'not-https', value: v };
  }
  if (url.search || url.hash) return { field, code: 'query-or-fragment', value: v };
  if (url.username || url.password) return { field, code: 'has-credentials' };
  return undefined;
}

/**
 * Whether a URL's host is this machine (localhost, 127.0.0.0/8, ::1): the only place plain http makes
 * sense, for a local trial. The wizard offers http for these hosts; anywhere else it wants https.
 */
export function isLoopbackUrl(value: string): boolean {
  let host: string;
  try {
    host = new URL(value.trim()).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';
}

/** The plain values the rules look at (catalog references are checked by looking them up). */
export type RuledValues = Record<'name' | 'channel' | 'api' | 'devEnvironment' | 'callbackUrl', string> & { silenceAlert?: string };

/** A silence alert as text: a duration (90m, 6h, 2d) from 10 minutes to 30 days, or off. */
export function silenceAlertRule(value: string): Problem | undefined {
  const seconds = parseSilence(value);
  if (seconds === undefined) return { field: 'silenceAlert', code: 'not-a-duration', value };
  if (seconds !== null && (seconds < SILENCE_ALERT_BOUNDS.min || seconds > SILENCE_ALERT_BOUNDS.max)) return { field: 'silenceAlert', code: 'out-of-range', value };
  return undefined;
}

/**
 * Every rule over the given values and secrets, in the form's order. Only the keys present are
 * checked: a create passes all of them, an update only what changes (a value saved earlier under
 * other options, e.g. an http URL saved with --allow-http, does not block editing another field).
 */
export function interactionProblems(values: Partial<RuledValues>, secrets: Partial<Secrets>, opts: { allowHttp: boolean }): Problem[] {
  const problems: Problem[] = [];
  const add = (p: Problem | undefined) => {
    if (p) problems.push(p);
  };
  if (values.name !== undefined) add(nameRule(values.name));
  if (values.channel !== undefined) add(channelRule(values.channel));
  if (values.api !== undefined) add(apiRule(values.api));
  // Without the generation, a label is held to v1.1's rule (the strictest).
  if (values.devEnvironment !== undefined) add(devEnvironmentRule(values.api ?? 'v1.1', values.devEnvironment));
  for (const f of SECRET_FIELDS) {
    const v = secrets[f];
    if (v !== undefined) add(secretRule(f, v));
  }
  if (values.callbackUrl !== undefined) add(callbackUrlRule(values.callbackUrl, opts.allowHttp));
  if (values.silenceAlert !== undefined) add(silenceAlertRule(values.silenceAlert));
  return problems;
}

/** The stored form of a valid value: trimmed, the callback URL without trailing slashes. */
export function normalizeValues<T extends Partial<RuledValues>>(values: T): T {
  const out = { ...values };
  if (out.name !== undefined) out.name = out.name.trim();
  if (out.devEnvironment !== undefined) out.devEnvironment = out.devEnvironment.trim();
  if (out.callbackUrl !== undefined) out.callbackUrl = normalizeCallbackUrl(out.callbackUrl);
  return out;
}

/** How to fix a problem on the command line: the flag (or variable) that gives the value. */
export function flagFix(p: Problem): string | undefined {
  switch (p.code) {
    case 'http-needs-allow-http':
      return 'pass --allow-http for a local set-up';
    case 'name-taken':
      return `choose another --name, or edit the existing one: omni interaction edit "${p.holder ?? p.value ?? ''}"`;
    case 'missing':
      return `give ${FIELD_SOURCES[p.field]}`;
    case 'env-label-needs-v1.1':
      return 'give --env-label <label> (the "Dev environment label" in Twitter Developer), or use X\'s current API: --api activity';
    default:
      return problemFix(p);
  }
}

/**
 * A problem as the flags path reports it: "<flag>: <what is wrong>", and the fix. A taken name is
 * not the flag's fault but the database's: its sentence stands alone and the fix names --name.
 */
export function flagError(p: Problem): UsageError {
  const sentence = problemSentence(p);
  return new UsageError(p.code === 'name-taken' ? sentence : `${FIELD_SOURCES[p.field]}: ${sentence}`, flagFix(p));
}

/** Callback URLs are stored trimmed and without trailing slashes, so the webhook URL has no "//". */
export function normalizeCallbackUrl(value: string): string {
  const v = value.trim();
  const url = new URL(v);
  return url.pathname === '/' ? url.origin : v.replace(/\/+$/, '');
}

/** The secrets given through the environment; empty variables count as not given. */
export function secretsFromEnv(env: NodeJS.ProcessEnv): Partial<Secrets> {
  const out: Partial<Secrets> = {};
  for (const f of SECRET_FIELDS) {
    const v = env[SECRET_ENV[f]];
    if (v !== undefined && v.trim() !== '') out[f] = v.trim();
  }
  return out;
}

/**
 * Parses a --secrets-file: a JSON object with any of apiKey, apiSecretKey, accessToken,
 * accessTokenSecret. Unknown keys are refused so a typo ("apiSecret") does not silently drop a value.
 * Error messages never echo the file's content: it holds credentials.
 */
export function parseSecretsJson(text: string, source: string): Partial<Secrets> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${source} is not valid JSON`, `expected {"apiKey": "...", "apiSecretKey": "...", "accessToken": "...", "accessTokenSecret": "..."}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${source} must hold a JSON object`, `expected {"apiKey": "...", "apiSecretKey": "...", "accessToken": "...", "accessTokenSecret": "..."}`);
  }
  const out: Partial<Secrets> = {};
  for (const [key, value] of Object.entries(parsed)) {
    // One file may hold the OAuth 2.0 keys too: `interaction authorize --secrets-file` reads those.
    if ((OAUTH_FIELDS as readonly string[]).includes(key)) continue;
    if (!(SECRET_FIELDS as readonly string[]).includes(key)) {
      throw new UsageError(`${source} has an unknown key '${key}'`, `allowed keys: ${[...SECRET_FIELDS, ...OAUTH_FIELDS].join(', ')}`);
    }
    const field = key as SecretField;
    if (typeof value !== 'string') throw new UsageError(`${source}: ${key} must be a string`);
    const problem = secretRule(field, value);
    if (problem) throw new UsageError(`${source}: ${problemSentence(problem)}`, problemFix(problem));
    out[field] = value.trim();
  }
  return out;
}

/** Raw scripted input: flag values as typed, before catalog names are looked up. */
export interface ScriptedInput {
  name?: string | undefined;
  channel?: string | undefined;
  unit?: string | undefined;
  group?: string | undefined;
  activity?: string | undefined;
  origin?: string | undefined;
  helper?: boolean | undefined;
  api?: string | undefined;
  envLabel?: string | undefined;
  callbackUrl?: string | undefined;
  silenceAlert?: string | undefined;
}

/** Scripted input after the value rules: plain values normalized, catalog references still raw. */
export interface CheckedInput {
  name?: string;
  channel?: Channel;
  unit?: string;
  group?: string;
  activity?: string;
  origin?: string;
  helper?: boolean;
  api?: ApiGeneration;
  devEnvironment?: string;
  callbackUrl?: string;
  /** Seconds; null: off. */
  silenceAlert?: number | null;
}

/**
 * Applies the value rules to scripted input. For a new interaction (`mode: 'create'`) it also
 * lists every required value that is missing, as the flag or variable that gives it, in the form's
 * order; `hasDefaultOrigin` says whether the channel's default contact origin exists. Invalid values
 * throw a UsageError naming the flag; missing ones are returned, so the caller can decide to ask.
 */
export function resolveInteractionInput(
  input: ScriptedInput,
  secrets: Partial<Secrets>,
  opts: { mode: 'create' | 'update'; allowHttp: boolean; hasDefaultOrigin?: boolean },
): { values: CheckedInput; missing: string[] } {
  const values: CheckedInput = {};
  const check = (problem: Problem | undefined) => {
    if (problem) throw flagError(problem);
  };
  if (input.name !== undefined) {
    check(nameRule(input.name));
    values.name = input.name.trim();
  }
  if (input.channel !== undefined) {
    const c = input.channel.trim();
    check(channelRule(c));
    values.channel = c as Channel;
  }
  for (const key of ['unit', 'group', 'activity', 'origin'] as const) {
    const v = input[key];
    if (v === undefined) continue;
    if (v.trim() === '') throw new UsageError(`--${key} must not be empty`, `give the ${key}'s id or name`);
    values[key] = v.trim();
  }
  if (input.helper !== undefined) values.helper = input.helper;
  if (input.api !== undefined) {
    const a = input.api.trim();
    check(apiRule(a));
    values.api = a as ApiGeneration;
  }
  if (input.envLabel !== undefined) {
    // An empty --env-label clears it, which only a generation other than v1.1 allows (the write path checks the pair).
    if (input.envLabel.trim() !== '' || (values.api ?? DEFAULT_API) === 'v1.1') check(devEnvironmentRule(values.api ?? 'v1.1', input.envLabel));
    values.devEnvironment = input.envLabel.trim();
  }
  if (input.callbackUrl !== undefined) {
    check(callbackUrlRule(input.callbackUrl, opts.allowHttp));
    values.callbackUrl = normalizeCallbackUrl(input.callbackUrl);
  }
  if (input.silenceAlert !== undefined) {
    check(silenceAlertRule(input.silenceAlert));
    values.silenceAlert = parseSilence(input.silenceAlert)!;
  }
  for (const f of SECRET_FIELDS) {
    const v = secrets[f];
    if (v !== undefined) check(secretRule(f, v));
  }

  const missing: string[] = [];
  if (opts.mode === 'create') {
    const given: Record<FieldName, boolean> = {
      name: values.name !== undefined,
      channel: true, // defaults to twitter-dm
      api: true, // defaults to activity
      unit: values.unit !== undefined,
      group: values.group !== undefined,
      activity: values.activity !== undefined,
      contactOrigin: values.origin !== undefined || opts.hasDefaultOrigin === true,
      helperInterception: true, // defaults to off, as in 4biz
      // Only the premium v1.1 API has dev environments.
      devEnvironment: values.devEnvironment !== undefined || (values.api ?? DEFAULT_API) !== 'v1.1',
      apiKey: secrets.apiKey !== undefined,
      apiSecretKey: secrets.apiSecretKey !== undefined,
      accessToken: secrets.accessToken !== undefined,
      accessTokenSecret: secrets.accessTokenSecret !== undefined,
      callbackUrl: values.callbackUrl !== undefined,
      silenceAlert: true, // defaults to off
    };
    for (const f of FORM_ORDER) if (!given[f]) missing.push(FIELD_SOURCES[f]);
  }
  return { values, missing };
}

/** The OAuth 2.0 client credentials and refresh token given through the environment (empty ones count as not given). */
export function oauthSecretsFromEnv(env: NodeJS.ProcessEnv): Partial<OAuthSecrets> {
  const out: Partial<OAuthSecrets> = {};
  for (const f of OAUTH_FIELDS) {
    const v = env[OAUTH_ENV[f]];
    if (v !== undefined && v.trim() !== '') out[f] = v.trim();
  }
  return out;
}

/**
 * The OAuth 2.0 keys of a --secrets-file (clientId, clientSecret, refreshToken); the four OAuth 1.0a
 * keys may be in the same file and are left to `interaction new/edit`. Never echoes a value.
 */
export function parseOAuthSecretsJson(text: string, source: string): Partial<OAuthSecrets> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${source} is not valid JSON`, 'expected {"clientId": "...", "clientSecret": "...", "refreshToken": "..."} (each optional)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${source} must hold a JSON object`, 'expected {"clientId": "...", "clientSecret": "...", "refreshToken": "..."} (each optional)');
  }
  const out: Partial<OAuthSecrets> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if ((SECRET_FIELDS as readonly string[]).includes(key)) continue;
    if (!(OAUTH_FIELDS as readonly string[]).includes(key)) {
      throw new UsageError(`${source} has an unknown key '${key}'`, `allowed keys: ${[...OAUTH_FIELDS, ...SECRET_FIELDS].join(', ')}`);
    }
    if (typeof value !== 'string') throw new UsageError(`${source}: ${key} must be a string`);
    const v = value.trim();
    const what = key === 'clientId' ? 'the OAuth 2.0 client id' : key === 'clientSecret' ? 'the OAuth 2.0 client secret' : 'the refresh token';
    if (v === '') throw new UsageError(`${source}: ${what} must not be empty`, 'leave the key out instead');
    if (/\s/.test(v)) throw new UsageError(`${source}: ${what} contains whitespace`, 'paste it again from the developer console');
    if (v.length > 512) throw new UsageError(`${source}: ${what} is ${v.length} characters long; that is not an X credential`);
    out[key as OAuthField] = v;
  }
  return out;
}
