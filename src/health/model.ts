// The health of one interaction, judged from what the listeners recorded (src/db/health.ts, the
// interaction row, the OAuth 2.0 token row, messages, outbox): pure, so `omni status`, /healthz?verbose,
// /metrics and the listener's transition monitor say the same thing.
import type { InteractionHealthTable } from '../db/schema.js';

/** The unhealthy states: each is notified once on entering and once on leaving (`omni listen --notify`). */
export const UNHEALTHY_STATES = ['authorization-lost', 'webhook-invalid', 'subscription-missing', 'credits-depleted', 'app-not-enrolled', 'silence', 'outbox-stuck'] as const;
export type UnhealthyState = (typeof UNHEALTHY_STATES)[number];

/** An outbox row waiting longer than this means sending is stuck. */
export const OUTBOX_STUCK_MS = 10 * 60_000;

/** The X error kinds (src/twitter/errors.ts) that are an unhealthy state of their own. */
export const X_ERROR_STATES: Readonly<Record<string, UnhealthyState>> = {
  'credits-depleted': 'credits-depleted',
  'client-not-enrolled': 'app-not-enrolled',
  'authorization-lost': 'authorization-lost',
};

/** What the label of a state reads like in a sentence. */
export const STATE_WORDS: Readonly<Record<UnhealthyState, string>> = {
  'authorization-lost': 'X authorization lost',
  'webhook-invalid': 'webhook invalid',
  'subscription-missing': 'subscription missing',
  'credits-depleted': 'X credits depleted (HTTP 402)',
  'app-not-enrolled': 'X app not enrolled (client-not-enrolled)',
  silence: 'silent',
  'outbox-stuck': 'outbox stuck',
};

export interface HealthInput {
  interaction: {
    id: number;
    name: string;
    api: string;
    created_at: string;
    webhook_id: string | null;
    webhook_valid: number | null;
    webhook_checked_at: string | null;
    webhook_last_error: string | null;
    silence_alert_seconds: number | null;
  };
  token: { expires_at: string | null; refreshed_at: string | null; lost_at: string | null; lost_reason: string | null } | undefined;
  /** What the listeners recorded (src/db/health.ts), without its bookkeeping columns. */
  health: Omit<InteractionHealthTable, 'interaction_id' | 'stream_updated_at' | 'updated_at'> | undefined;
  lastCrcAt: string | null;
  inbound: { last: string | null; today: number } | undefined;
  outbox: { backlog: number; oldest: string | null; failed: number } | undefined;
  rejected: { count: number; last: string | null } | undefined;
}

export interface Problem {
  state: UnhealthyState;
  /** When it began, as far as the evidence says. */
  since: string;
  /** One line with the fix. */
  text: string;
}

export interface InteractionHealth {
  id: number;
  name: string;
  api: string;
  healthy: boolean;
  authorization: { state: 'ok' | 'lost' | 'none' | 'not-applicable'; expiresAt: string | null; expiresInSeconds: number | null; refreshedAt: string | null; lostAt: string | null; reason: string | null };
  webhook: { state: 'valid' | 'invalid' | 'unknown' | 'none'; checkedAt: string | null; lastCrcAt: string | null; detail: string | null };
  subscriptions: { state: 'present' | 'missing' | 'unknown'; missing: string[]; checkedAt: string | null };
  stream: { connectedSince: string | null };
  lastEventAt: string | null;
  dmsToday: number;
  reconcile: { at: string | null; found: number | null };
  outbox: { backlog: number; oldestAt: string | null; failed: number };
  rejectedEvents: { last24h: number; lastAt: string | null };
  xError: { kind: string; status: number | null; message: string | null; at: string | null } | null;
  rateLimitedUntil: string | null;
  silence: { alertSeconds: number | null; silentForSeconds: number | null };
  problems: Problem[];
}

const X_APIS = new Set(['v2', 'activity']);

function parseList(raw: string | null): string[] | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v.map(String) : null;
  } catch {
    return null;
  }
}

export function assessHealth(i: HealthInput, now: Date): InteractionHealth {
  const r = i.interaction;
  const nowMs = now.getTime();
  const problems: Problem[] = [];
  const add = (state: UnhealthyState, since: string | null, text: string) => {
    if (!problems.some((p) => p.state === state)) problems.push({ state, since: since ?? now.toISOString(), text });
  };
  const h = i.health;

  // Authorization (OAuth 2.0, X API 2026 generations).
  let authorization: InteractionHealth['authorization'];
  if (!X_APIS.has(r.api)) authorization = { state: 'not-applicable', expiresAt: null, expiresInSeconds: null, refreshedAt: null, lostAt: null, reason: null };
  else if (!i.token) authorization = { state: 'none', expiresAt: null, expiresInSeconds: null, refreshedAt: null, lostAt: null, reason: null };
  else {
    const t = i.token;
    const expiresIn = t.expires_at ? Math.round((Date.parse(t.expires_at) - nowMs) / 1000) : null;
    authorization = { state: t.lost_at ? 'lost' : 'ok', expiresAt: t.expires_at, expiresInSeconds: expiresIn, refreshedAt: t.refreshed_at, lostAt: t.lost_at, reason: t.lost_reason };
    if (t.lost_at) add('authorization-lost', t.lost_at, `X authorization lost${t.lost_reason ? ` (${t.lost_reason})` : ''}: omni interaction authorize ${r.id}`);
  }

  // The last refusal of X, named.
  const xError = h?.x_error_kind ? { kind: h.x_error_kind, status: h.x_error_status, message: h.x_error_message, at: h.x_error_at } : null;
  if (xError) {
    const state = X_ERROR_STATES[xError.kind];
    if (state === 'credits-depleted') add(state, xError.at, `X refused a call with HTTP 402: the app's pay-per-use credits are used up; top up in X's developer console (nothing arrives meanwhile)`);
    else if (state === 'app-not-enrolled') add(state, xError.at, `X answered client-not-enrolled: the app is not enrolled in the pay-per-use package; enrol it in X's developer console`);
    else if (state === 'authorization-lost' && authorization.state !== 'ok') add(state, xError.at, `X authorization lost: omni interaction authorize ${r.id}`);
  }
  const rateLimitedUntil = h?.rate_limited_until && Date.parse(h.rate_limited_until) > nowMs ? h.rate_limited_until : null;

  // Webhook (not for stream-only interactions: no webhook id).
  let webhook: InteractionHealth['webhook'];
  if (r.webhook_id === null) webhook = { state: 'none', checkedAt: r.webhook_checked_at, lastCrcAt: i.lastCrcAt, detail: null };
  else {
    const state = r.webhook_valid === 1 ? 'valid' : r.webhook_valid === 0 ? 'invalid' : 'unknown';
    webhook = { state, checkedAt: r.webhook_checked_at, lastCrcAt: i.lastCrcAt, detail: state === 'invalid' ? r.webhook_last_error : null };
    if (state === 'invalid') add('webhook-invalid', r.webhook_checked_at, `webhook invalid at X${r.webhook_last_error ? ` (${r.webhook_last_error})` : ''}: omni webhook check ${r.id}`);
  }

  // Subscriptions, as the watchdog last found them.
  const missing = parseList(h?.subscriptions_missing ?? null);
  const subscriptions: InteractionHealth['subscriptions'] = { state: missing === null ? 'unknown' : missing.length ? 'missing' : 'present', missing: missing ?? [], checkedAt: h?.subscriptions_checked_at ?? null };
  if (missing?.length) add('subscription-missing', h?.subscriptions_checked_at ?? null, `subscription missing at X: ${missing.join(', ')}: omni webhook register ${r.id}`);

  // Outbox.
  const ob = i.outbox ?? { backlog: 0, oldest: null, failed: 0 };
  if (ob.oldest && nowMs - Date.parse(ob.oldest) > OUTBOX_STUCK_MS) {
    add('outbox-stuck', ob.oldest, `outbox stuck: ${ob.backlog} DM(s) waiting, the oldest since ${ob.oldest}: omni outbox list --interaction ${r.id}`);
  }

  // Silence: only while everything else is healthy (otherwise the cause is already named).
  const lastEventAt = i.inbound?.last ?? null;
  const quietSince = lastEventAt ?? r.created_at;
  const silentFor = Math.max(0, Math.round((nowMs - Date.parse(quietSince)) / 1000));
  if (r.silence_alert_seconds !== null && problems.length === 0 && silentFor >= r.silence_alert_seconds) {
    add('silence', quietSince, `silent for ${formatSeconds(silentFor)}: no DM received since ${lastEventAt ?? `the interaction was created (${r.created_at})`} (alert after ${formatSeconds(r.silence_alert_seconds)})`);
  }

  return {
    id: r.id,
    name: r.name,
    api: r.api,
    healthy: problems.length === 0,
    authorization,
    webhook,
    subscriptions,
    stream: { connectedSince: h?.stream_connected_since ?? null },
    lastEventAt,
    dmsToday: i.inbound?.today ?? 0,
    reconcile: { at: h?.last_reconcile_at ?? null, found: h?.last_reconcile_found ?? null },
    outbox: { backlog: ob.backlog, oldestAt: ob.oldest, failed: ob.failed },
    rejectedEvents: { last24h: i.rejected?.count ?? 0, lastAt: i.rejected?.last ?? null },
    xError,
    rateLimitedUntil,
    silence: { alertSeconds: r.silence_alert_seconds, silentForSeconds: r.silence_alert_seconds === null ? null : silentFor },
    problems,
  };
}

/** 7h, 45m, 2d 3h, 30s. */
export function formatSeconds(total: number): string {
  const s = Math.max(0, Math.round(total));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return m ? `${h}h ${m}m` : `${h}h`;
  }
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  return h ? `${d}d ${h}h` : `${d}d`;
}
