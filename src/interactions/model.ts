// What an interaction is, independent of how it is stored or typed in: channels, the webhook URL
// omni serves, callback URL rules, and the JSON shape every command prints.
import type { InteractionView } from '../db/interactions.js';
import { maskSecret, type SecretBox } from '../secrets.js';
import { UsageError } from '../errors.js';

export const CHANNELS = {
  'twitter-dm': { label: 'Twitter Direct Message', defaultOrigin: 'Twitter' },
} as const;
export type Channel = keyof typeof CHANNELS;

export const SECRET_FIELDS = ['apiKey', 'apiSecretKey', 'accessToken', 'accessTokenSecret'] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];
export type Secrets = Record<SecretField, string>;

/** Column holding each secret; the column name is also the AES-GCM associated data. */
export const SECRET_COLUMNS = {
  apiKey: 'api_key_enc',
  apiSecretKey: 'api_secret_key_enc',
  accessToken: 'access_token_enc',
  accessTokenSecret: 'access_token_secret_enc',
} as const satisfies Record<SecretField, string>;

export const SECRET_ENV = {
  apiKey: 'OMNI_TWITTER_API_KEY',
  apiSecretKey: 'OMNI_TWITTER_API_SECRET',
  accessToken: 'OMNI_TWITTER_ACCESS_TOKEN',
  accessTokenSecret: 'OMNI_TWITTER_ACCESS_TOKEN_SECRET',
} as const satisfies Record<SecretField, string>;

export function isChannel(value: string): value is Channel {
  return Object.hasOwn(CHANNELS, value);
}

/** Where omni serves this interaction's webhook: <callback URL>/webhooks/twitter/<id>. */
export function webhookUrl(callbackUrl: string, id: number): string {
  return `${callbackUrl.replace(/\/+$/, '')}/webhooks/twitter/${id}`;
}

/** Returns an error message, or undefined when the callback URL is acceptable. */
export function callbackUrlProblem(value: string, allowHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `'${value}' is not a URL (example: https://helpdesk.example.com)`;
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    return url.protocol === 'http:'
      ? `the callback URL must use https (Twitter requires it); pass --allow-http for a local set-up`
      : `the callback URL must be an https:// URL`;
  }
  if (url.search || url.hash) return 'the callback URL must not have a query or fragment';
  if (url.username || url.password) return 'the callback URL must not contain credentials';
  return undefined;
}

export function decryptSecrets(row: Pick<InteractionView, (typeof SECRET_COLUMNS)[SecretField]>, box: SecretBox): Secrets {
  const out = {} as Secrets;
  for (const f of SECRET_FIELDS) out[f] = box.decrypt(row[SECRET_COLUMNS[f]], SECRET_COLUMNS[f]);
  return out;
}

export function encryptSecrets(secrets: Partial<Secrets>, box: SecretBox): Partial<Record<(typeof SECRET_COLUMNS)[SecretField], string>> {
  const out: Partial<Record<(typeof SECRET_COLUMNS)[SecretField], string>> = {};
  for (const f of SECRET_FIELDS) {
    const v = secrets[f];
    if (v !== undefined) out[SECRET_COLUMNS[f]] = box.encrypt(v, SECRET_COLUMNS[f]);
  }
  return out;
}

const ref = (id: number | null, name: string | null) => (id === null ? null : { id, name });

/** The JSON of an interaction (issue contract). Secrets are masked unless showSecrets. */
export function interactionJson(row: InteractionView, box: SecretBox, showSecrets = false) {
  const secrets = decryptSecrets(row, box);
  const shown = (v: string) => (showSecrets ? v : maskSecret(v));
  return {
    id: row.id,
    name: row.name,
    channel: row.channel,
    unit: ref(row.unit_id, row.unit_name),
    group: ref(row.group_id, row.group_name),
    activity: row.activity_id === null ? null : { id: row.activity_id, name: row.activity_name, portfolio: ref(row.portfolio_id, row.portfolio_name) },
    contactOrigin: ref(row.contact_origin_id, row.contact_origin_name),
    helperInterception: row.helper_interception === 1,
    devEnvironment: row.dev_environment,
    callbackUrl: row.callback_url,
    webhookUrl: webhookUrl(row.callback_url, row.id),
    apiKey: shown(secrets.apiKey),
    apiSecretKey: shown(secrets.apiSecretKey),
    accessToken: shown(secrets.accessToken),
    accessTokenSecret: shown(secrets.accessTokenSecret),
    account: row.account_user_id ? { userId: row.account_user_id, screenName: row.account_screen_name } : null,
    webhook: {
      id: row.webhook_id,
      url: row.webhook_url,
      valid: row.webhook_valid === null ? null : row.webhook_valid === 1,
      subscribed: row.subscribed === null ? null : row.subscribed === 1,
      checkedAt: row.webhook_checked_at,
      lastError: row.webhook_last_error,
    },
    revokedAt: row.revoked_at,
    deletedAt: row.deleted_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
export type InteractionJson = ReturnType<typeof interactionJson>;

// ---------------------------------------------------------------------------------------------
// Input rules shared by the wizard and by scripted runs: the same checks, the same messages.

/** A catalog entry as an interaction points at it. */
export interface CatalogRef {
  id: number;
  name: string;
}

/** The plain (non-secret) fields of an interaction, with the names of what it points at. */
export interface InteractionValues {
  name: string;
  channel: Channel;
  unit: CatalogRef | null;
  group: CatalogRef | null;
  activity: (CatalogRef & { portfolio: string | null }) | null;
  contactOrigin: CatalogRef | null;
  helperInterception: boolean;
  devEnvironment: string;
  callbackUrl: string;
}

/** The 4biz form's labels, in the form's order (the wizard, `show` and change lists use them). */
export const FIELD_LABELS = {
  name: 'Name',
  channel: 'Interaction channel',
  unit: 'Default unit',
  group: 'Default group',
  activity: 'Default activity',
  contactOrigin: 'Contact origin',
  helperInterception: 'Enable interception with Helper',
  devEnvironment: 'Development environment',
  apiKey: 'API key',
  apiSecretKey: 'API secret key',
  accessToken: 'Access token',
  accessTokenSecret: 'Access token secret',
  callbackUrl: 'Callback URL',
} as const satisfies Record<keyof InteractionValues | SecretField, string>;
export type FieldName = keyof typeof FIELD_LABELS;
export const FORM_ORDER = Object.keys(FIELD_LABELS) as FieldName[];

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

/** One line of "what changed": old → new for plain fields; secrets only as changed. */
export interface FieldChange {
  field: FieldName;
  label: string;
  /** Display values; undefined for secrets, whose values are never shown or audited. */
  from?: string | boolean | null;
  to?: string | boolean | null;
  secret: boolean;
}

function displayValue(values: InteractionValues, field: keyof InteractionValues): string | boolean | null {
  const v = values[field];
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  return v.name;
}

function sameValue(a: InteractionValues, b: InteractionValues, field: keyof InteractionValues): boolean {
  const x = a[field];
  const y = b[field];
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return x === y;
  return x.id === y.id;
}

/**
 * What an edit changes, in the form's order. `before` undefined means a creation (every field is
 * "new"). `secretsGiven` are the secrets entered; they count as changed only when they differ from
 * `currentSecrets` (undefined on creation).
 */
export function interactionChanges(
  before: InteractionValues | undefined,
  after: InteractionValues,
  secretsGiven: Partial<Secrets>,
  currentSecrets?: Secrets,
): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const f of FORM_ORDER) {
    if ((SECRET_FIELDS as readonly string[]).includes(f)) {
      const s = f as SecretField;
      const v = secretsGiven[s];
      if (v !== undefined && (currentSecrets === undefined || currentSecrets[s] !== v)) {
        changes.push({ field: f, label: FIELD_LABELS[f], secret: true });
      }
      continue;
    }
    const p = f as keyof InteractionValues;
    if (before && sameValue(before, after, p)) continue;
    changes.push({
      field: f,
      label: FIELD_LABELS[f],
      from: before ? displayValue(before, p) : null,
      to: displayValue(after, p),
      secret: false,
    });
  }
  return changes;
}

/** The audit record's `changes`: values for a creation, {from, to} for an edit, secrets as "set"/"changed". */
export function auditChanges(changes: FieldChange[], action: 'create' | 'update'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of changes) {
    if (c.secret) out[c.field] = action === 'create' ? 'set' : 'changed';
    else out[c.field] = action === 'create' ? c.to : { from: c.from, to: c.to };
  }
  return out;
}

/** The plain values of a stored interaction. */
export function valuesFromRow(row: InteractionView): InteractionValues {
  const ref = (id: number | null, name: string | null): CatalogRef | null => (id === null ? null : { id, name: name ?? String(id) });
  const unit = ref(row.unit_id, row.unit_name);
  const activity = ref(row.activity_id, row.activity_name);
  return {
    name: row.name,
    // A channel this omni does not know (written by a newer one) is carried through unchanged.
    channel: row.channel as Channel,
    unit,
    group: ref(row.group_id, row.group_name),
    activity: activity ? { ...activity, portfolio: row.portfolio_name } : null,
    contactOrigin: ref(row.contact_origin_id, row.contact_origin_name),
    helperInterception: row.helper_interception === 1,
    devEnvironment: row.dev_environment,
    callbackUrl: row.callback_url,
  };
}

/** The plain columns for values (secrets are encrypted separately). */
export function valuesToColumns(v: InteractionValues) {
  return {
    name: v.name,
    channel: v.channel,
    unit_id: v.unit?.id ?? null,
    group_id: v.group?.id ?? null,
    activity_id: v.activity?.id ?? null,
    contact_origin_id: v.contactOrigin?.id ?? null,
    helper_interception: v.helperInterception ? 1 : 0,
    dev_environment: v.devEnvironment,
    callback_url: v.callbackUrl,
  };
}

export type WebhookState = 'not registered' | 'valid' | 'invalid' | 'not checked';

/** The webhook's state as last seen by omni (the webhooks commands keep these columns current). */
export function webhookState(row: Pick<InteractionView, 'webhook_id' | 'webhook_valid'>): WebhookState {
  if (row.webhook_id === null) return 'not registered';
  if (row.webhook_valid === null) return 'not checked';
  return row.webhook_valid === 1 ? 'valid' : 'invalid';
}

export function channelLabel(channel: string): string {
  return isChannel(channel) ? `${CHANNELS[channel].label} (${channel})` : channel;
}
