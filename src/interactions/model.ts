// What an interaction is, independent of how it is stored or typed in: channels, the webhook URL
// omni serves, callback URL rules, the form's fields and labels, and the JSON shape every command
// prints. Input rules live in rules.ts, change lists in changes.ts.
import type { InteractionView } from '../db/interactions.js';
import { maskSecret, type SecretBox } from '../secrets.js';

export const CHANNELS = {
  'twitter-dm': { label: 'Twitter Direct Message', defaultOrigin: 'Twitter' },
} as const;
export type Channel = keyof typeof CHANNELS;

/**
 * The generations of X's API an interaction can use. 'activity' (the X Activity API, XAA) is X's
 * current path and the default for new interactions; 'v2' (Account Activity API v2) is deprecated
 * since 2026-07 but still served; 'v1.1' (premium Account Activity, dev environment labels) is the
 * retired flow of the 4biz document, kept for installations that still run it.
 */
export const API_GENERATIONS = {
  activity: { label: 'X Activity API (current)', needs: 'an app bearer token (API key and secret), the account authorized with OAuth 2.0 (omni interaction authorize), a webhook on /2/webhooks and Activity API subscriptions' },
  v2: { label: 'Account Activity API v2 (deprecated by X)', needs: 'an app bearer token (API key and secret), the account authorized with OAuth 2.0 (omni interaction authorize) or OAuth 1.0a, a webhook on /2/webhooks and an Account Activity subscription' },
  'v1.1': { label: 'premium Account Activity v1.1 (legacy)', needs: 'a dev environment label and the four OAuth 1.0a credentials' },
} as const;
export type ApiGeneration = keyof typeof API_GENERATIONS;
export const DEFAULT_API: ApiGeneration = 'activity';

export function isApiGeneration(value: string): value is ApiGeneration {
  return Object.hasOwn(API_GENERATIONS, value);
}

export function apiLabel(api: string): string {
  return isApiGeneration(api) ? `${API_GENERATIONS[api].label} (${api})` : api;
}

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

/**
 * The app's OAuth 2.0 client (developer console › the app › "OAuth 2.0 Client ID and Client Secret")
 * and, for machines without a browser, a refresh token from an earlier authorization. Secret like
 * the four above: environment or --secrets-file, encrypted at rest, masked, never audited by value.
 */
export const OAUTH_FIELDS = ['clientId', 'clientSecret', 'refreshToken'] as const;
export type OAuthField = (typeof OAUTH_FIELDS)[number];
export type OAuthSecrets = Record<OAuthField, string>;
export const OAUTH_ENV = {
  clientId: 'OMNI_TWITTER_CLIENT_ID',
  clientSecret: 'OMNI_TWITTER_CLIENT_SECRET',
  refreshToken: 'OMNI_TWITTER_REFRESH_TOKEN',
} as const satisfies Record<OAuthField, string>;
/** Columns of the stored client credentials (migration 0007); the refresh token lives in oauth_tokens. */
export const OAUTH_CLIENT_COLUMNS = { clientId: 'client_id_enc', clientSecret: 'client_secret_enc' } as const;

export function isChannel(value: string): value is Channel {
  return Object.hasOwn(CHANNELS, value);
}

/** Where omni serves this interaction's webhook: <callback URL>/webhooks/twitter/<id>. */
export function webhookUrl(callbackUrl: string, id: number): string {
  return `${callbackUrl.replace(/\/+$/, '')}/webhooks/twitter/${id}`;
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
    api: row.api,
    unit: ref(row.unit_id, row.unit_name),
    group: ref(row.group_id, row.group_name),
    activity: row.activity_id === null ? null : { id: row.activity_id, name: row.activity_name, portfolio: ref(row.portfolio_id, row.portfolio_name) },
    contactOrigin: ref(row.contact_origin_id, row.contact_origin_name),
    helperInterception: row.helper_interception === 1,
    devEnvironment: row.dev_environment,
    callbackUrl: row.callback_url,
    webhookUrl: webhookUrl(row.callback_url, row.id),
    silenceAlert: row.silence_alert_seconds == null ? null : formatSilence(row.silence_alert_seconds),
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

/** A catalog entry as an interaction points at it. */
export interface CatalogRef {
  id: number;
  name: string;
}

/** The plain (non-secret) fields of an interaction, with the names of what it points at. */
export interface InteractionValues {
  name: string;
  channel: Channel;
  api: ApiGeneration;
  unit: CatalogRef | null;
  group: CatalogRef | null;
  activity: (CatalogRef & { portfolio: string | null }) | null;
  contactOrigin: CatalogRef | null;
  helperInterception: boolean;
  /** The v1.1 dev environment label; '' when the generation needs none. */
  devEnvironment: string;
  callbackUrl: string;
  /** Seconds without an inbound DM (all else healthy) that make `omni status` say "silent"; null or absent: off. */
  silenceAlert?: number | null;
}

/** The 4biz form's labels, in the form's order (the wizard, `show` and change lists use them). */
export const FIELD_LABELS = {
  name: 'Name',
  channel: 'Interaction channel',
  api: 'X API generation',
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
  silenceAlert: 'Silence alert',
} as const satisfies Record<keyof InteractionValues | SecretField, string>;
export type FieldName = keyof typeof FIELD_LABELS;
export const FORM_ORDER = Object.keys(FIELD_LABELS) as FieldName[];

/** The plain values of a stored interaction. */
export function valuesFromRow(row: InteractionView): InteractionValues {
  const ref = (id: number | null, name: string | null): CatalogRef | null => (id === null ? null : { id, name: name ?? String(id) });
  const unit = ref(row.unit_id, row.unit_name);
  const activity = ref(row.activity_id, row.activity_name);
  return {
    name: row.name,
    // A channel this omni does not know (written by a newer one) is carried through unchanged.
    channel: row.channel as Channel,
    // Likewise an API generation this omni does not know.
    api: row.api as ApiGeneration,
    unit,
    group: ref(row.group_id, row.group_name),
    activity: activity ? { ...activity, portfolio: row.portfolio_name } : null,
    contactOrigin: ref(row.contact_origin_id, row.contact_origin_name),
    helperInterception: row.helper_interception === 1,
    devEnvironment: row.dev_environment,
    callbackUrl: row.callback_url,
    silenceAlert: row.silence_alert_seconds ?? null,
  };
}

/** The plain columns for values (secrets are encrypted separately). */
export function valuesToColumns(v: InteractionValues) {
  return {
    name: v.name,
    channel: v.channel,
    api: v.api,
    unit_id: v.unit?.id ?? null,
    group_id: v.group?.id ?? null,
    activity_id: v.activity?.id ?? null,
    contact_origin_id: v.contactOrigin?.id ?? null,
    helper_interception: v.helperInterception ? 1 : 0,
    dev_environment: v.devEnvironment,
    callback_url: v.callbackUrl,
    silence_alert_seconds: v.silenceAlert ?? null,
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

/** The shortest duration text for a silence alert: 90m, 6h, 2d. */
export function formatSilence(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`;
  return `${Math.round(seconds / 60)}m`;
}

/** Silence alerts go from 10 minutes to 30 days. */
export const SILENCE_ALERT_BOUNDS = { min: 600, max: 30 * 86_400 } as const;

/** "6h", "90m", "2d" → seconds; "off" → null; undefined when it is not a duration. */
export function parseSilence(raw: string): number | null | undefined {
  const t = raw.trim().toLowerCase();
  if (t === 'off' || t === 'none' || t === '0') return null;
  const m = /^(\d+)\s*(m|h|d)$/.exec(t);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'm' ? 60 : m[2] === 'h' ? 3_600 : 86_400);
}
