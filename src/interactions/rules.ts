// Input rules shared by the wizard and by scripted runs: the same checks, the same messages, and
// the one list of what is missing when nothing may be asked.
import { UsageError } from '../errors.js';
import {
  CHANNELS,
  FIELD_LABELS,
  FORM_ORDER,
  SECRET_ENV,
  SECRET_FIELDS,
  callbackUrlProblem,
  isChannel,
  type Channel,
  type FieldName,
  type SecretField,
  type Secrets,
} from './model.js';

/** How each field is given when not interactive: the flag, or for secrets the environment variable. */
export const FIELD_SOURCES: Record<FieldName, string> = {
  name: '--name',
  channel: '--channel',
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
};

export const NAME_MAX = 100;

export function nameProblem(value: string): string | undefined {
  const v = value.trim();
  if (v === '') return 'the name must not be empty';
  // Interactions are referenced "by id or name": an all-digit name would be shadowed by an id.
  if (/^\d+$/.test(v)) return `'${v}' looks like an identifier; give the interaction a name with letters`;
  if (v.length > NAME_MAX) return `the name is ${v.length} characters long; at most ${NAME_MAX} are allowed`;
  if (/[\u0000-\u001f\u007f]/.test(v)) return 'the name must not contain control characters';
  return undefined;
}

export function channelProblem(value: string): string | undefined {
  return isChannel(value) ? undefined : `unknown channel '${value}'; known channels: ${Object.keys(CHANNELS).join(', ')}`;
}

/** The Twitter dev environment label ends up in API paths (/account_activity/all/<label>/...). */
export function envLabelProblem(value: string): string | undefined {
  const v = value.trim();
  if (v === '') return 'the development environment label must not be empty (it is the "Dev environment label" in Twitter Developer)';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) {
    return `'${v}' is not a Twitter dev environment label: use at most 64 letters, digits, '-' or '_'`;
  }
  return undefined;
}

export function secretProblem(field: SecretField, value: string): string | undefined {
  const v = value.trim();
  if (v === '') return `the ${FIELD_LABELS[field]} must not be empty`;
  // Credentials copied from the developer portal never contain spaces; one usually means a bad paste.
  if (/\s/.test(v)) return `the ${FIELD_LABELS[field]} contains whitespace; paste it again from Twitter Developer ("Keys and tokens")`;
  if (v.length > 512) return `the ${FIELD_LABELS[field]} is ${v.length} characters long; that is not a Twitter credential`;
  return undefined;
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
    if (!(SECRET_FIELDS as readonly string[]).includes(key)) {
      throw new UsageError(`${source} has an unknown key '${key}'`, `allowed keys: ${SECRET_FIELDS.join(', ')}`);
    }
    const field = key as SecretField;
    if (typeof value !== 'string') throw new UsageError(`${source}: ${key} must be a string`);
    const problem = secretProblem(field, value);
    if (problem) throw new UsageError(`${source}: ${problem}`);
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
  envLabel?: string | undefined;
  callbackUrl?: string | undefined;
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
  devEnvironment?: string;
  callbackUrl?: string;
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
  const check = (flag: string, problem: string | undefined) => {
    if (problem) throw new UsageError(`${flag}: ${problem}`);
  };
  if (input.name !== undefined) {
    check('--name', nameProblem(input.name));
    values.name = input.name.trim();
  }
  if (input.channel !== undefined) {
    const c = input.channel.trim();
    check('--channel', channelProblem(c));
    values.channel = c as Channel;
  }
  for (const key of ['unit', 'group', 'activity', 'origin'] as const) {
    const v = input[key];
    if (v === undefined) continue;
    if (v.trim() === '') throw new UsageError(`--${key} must not be empty`, `give the ${key}'s id or name`);
    values[key] = v.trim();
  }
  if (input.helper !== undefined) values.helper = input.helper;
  if (input.envLabel !== undefined) {
    check('--env-label', envLabelProblem(input.envLabel));
    values.devEnvironment = input.envLabel.trim();
  }
  if (input.callbackUrl !== undefined) {
    check('--callback-url', callbackUrlProblem(input.callbackUrl.trim(), opts.allowHttp));
    values.callbackUrl = normalizeCallbackUrl(input.callbackUrl);
  }
  for (const f of SECRET_FIELDS) {
    const v = secrets[f];
    if (v !== undefined) check(FIELD_SOURCES[f], secretProblem(f, v));
  }

  const missing: string[] = [];
  if (opts.mode === 'create') {
    const given: Record<FieldName, boolean> = {
      name: values.name !== undefined,
      channel: true, // defaults to twitter-dm
      unit: values.unit !== undefined,
      group: values.group !== undefined,
      activity: values.activity !== undefined,
      contactOrigin: values.origin !== undefined || opts.hasDefaultOrigin === true,
      helperInterception: true, // defaults to off, as in 4biz
      devEnvironment: values.devEnvironment !== undefined,
      apiKey: secrets.apiKey !== undefined,
      apiSecretKey: secrets.apiSecretKey !== undefined,
      accessToken: secrets.accessToken !== undefined,
      accessTokenSecret: secrets.accessTokenSecret !== undefined,
      callbackUrl: values.callbackUrl !== undefined,
    };
    for (const f of FORM_ORDER) if (!given[f]) missing.push(FIELD_SOURCES[f]);
  }
  return { values, missing };
}
