// Webhooks of the fake X (shared by Account Activity v2 and the Activity API): /2/webhooks CRUD with
// a real CRC GET (any 2xx with the right response_token within 10 s), X's URL rules (https, no port,
// ≤ 200 characters; lenient unless strictUrls, so tests can use http://127.0.0.1:port), one webhook
// per app, signed deliveries with retries recorded per webhook, and POST /2/webhooks/replay, which
// re-sends only what X attempted to deliver in the window and then a replay_job_status event.
import crypto from 'node:crypto';
import { crcResponseToken, signBody, SIGNATURE_HEADER } from '../../../src/twitter/signature.js';
import { invalidRequest, json, problem, snowflake, type XHost, type XRoute } from './common.js';
import type { FakeOAuth2 } from './oauth2.js';

export interface WebhooksOptions {
  /** Webhooks per app (pay-per-use: 1). */
  webhookLimit?: number;
  /** X waits 10 s for a CRC answer. */
  crcTimeoutMs?: number;
}

export interface FakeWebhook2 {
  id: string;
  consumerKey: string;
  url: string;
  valid: boolean;
  createdAt: string;
}

export interface CrcCheck2 {
  at: string;
  webhookId: string | null;
  url: string;
  ok: boolean;
  status?: number;
  reason?: string;
}

export interface XDelivery {
  id: string;
  webhookId: string;
  url: string;
  /** xaa: an Activity API envelope; aaa: an Account Activity v2 body; replay_status: the end of a replay job. */
  kind: 'xaa' | 'aaa' | 'replay_status';
  body: string;
  signature: string;
  /** When X first tried to deliver it (ms); replay windows select on this. */
  firstAttemptAt: number | null;
  attempts: Array<{ at: string; status?: number; error?: string; ms: number }>;
  delivered: boolean;
  /** The replay job that re-sent it, for re-deliveries. */
  replayJob?: string;
  /** X lost it (dropNextDeliveries): never attempted, never replayed, never billed. */
  dropped?: boolean;
}

export interface ReplayJob {
  jobId: string;
  webhookId: string;
  from: number;
  to: number;
  createdAt: string;
  /** The deliveries it re-sent, in order. */
  resent: XDelivery[];
  state: 'running' | 'Complete' | 'Incomplete';
}

/** yyyymmddhhmm (UTC) → ms, or undefined. */
export function parseReplayDate(s: unknown): number | undefined {
  if (typeof s !== 'string' || !/^\d{12}$/.test(s)) return undefined;
  const t = Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12));
  const d = new Date(t);
  return d.getUTCMonth() === +s.slice(4, 6) - 1 && d.getUTCDate() === +s.slice(6, 8) ? t : undefined;
}

export function createWebhooks(host: XHost, auth: FakeOAuth2, opts: WebhooksOptions) {
  const limit = opts.webhookLimit ?? 1;
  const crcTimeoutMs = opts.crcTimeoutMs ?? 10_000;
  const hooks = new Map<string, FakeWebhook2>();
  const crcChecks: CrcCheck2[] = [];
  const deliveries: XDelivery[] = [];
  const replays: ReplayJob[] = [];
  let dropNext = 0;
  /** Tests: every CRC check fails (the URL does not answer as the app's listener). */
  let crcRefused = false;
  /** When set, POST /2/webhooks/replay is refused with this detail (X's answer when it will not replay). */
  let replayRefusal: string | null = null;
  /** Called when a webhook is deleted (its subscriptions go with it). */
  const onDelete: Array<(id: string) => void> = [];

  const hookJson = (w: FakeWebhook2) => ({ id: w.id, url: w.url, valid: w.valid, created_at: w.createdAt });
  const secretOf = (consumerKey: string) => host.apps.get(consumerKey)!.consumerSecret;

  async function crc(consumerKey: string, url: string, webhookId: string | null): Promise<CrcCheck2> {
    const token = crypto.randomBytes(24).toString('base64url');
    const target = new URL(url);
    target.searchParams.set('crc_token', token);
    const at = new Date().toISOString();
    let check: CrcCheck2;
    if (crcRefused) {
      check = { at, webhookId, url, ok: false, reason: 'no CRC answer within 10 seconds' };
      crcChecks.push(check);
      return check;
    }
    try {
      const res = await host.outbound('GET', target.toString(), undefined, {}, crcTimeoutMs);
      let answer: unknown;
      try {
        answer = (JSON.parse(res.body) as { response_token?: unknown }).response_token;
      } catch {
        answer = undefined;
      }
      check =
        res.status >= 200 && res.status < 300 && answer === crcResponseToken(secretOf(consumerKey), token)
          ? { at, webhookId, url, ok: true, status: res.status }
          : { at, webhookId, url, ok: false, status: res.status, reason: res.status >= 300 ? `CRC GET answered HTTP ${res.status}` : 'wrong or missing response_token' };
    } catch (err) {
      check = { at, webhookId, url, ok: false, reason: (err as { code?: string }).code === 'ETIMEDOUT' ? 'no CRC answer within 10 seconds' : `CRC GET failed: ${(err as Error).message}` };
    }
    crcChecks.push(check);
    return check;
  }

  function validateUrl(url: unknown): string {
    if (typeof url !== 'string' || url === '') throw invalidRequest('UrlValidationFailed', 'url is required.');
    if (url.length > 200) throw invalidRequest('UrlValidationFailed', 'URL must be at most 200 characters.');
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw invalidRequest('UrlValidationFailed', 'URL is not valid.');
    }
    if (host.strictUrls && u.protocol !== 'https:') throw invalidRequest('UrlValidationFailed', 'URL must use https.');
    if (host.strictUrls && u.port) throw invalidRequest('UrlValidationFailed', 'URL must not contain a port.');
    return url;
  }

  const ofApp = (consumerKey: string) => [...hooks.values()].filter((h) => h.consumerKey === consumerKey);
  const hookOf = (consumerKey: string, id: string) => {
    const h = hooks.get(id);
    if (!h || h.consumerKey !== consumerKey) throw invalidRequest('WebhookIdInvalid', `webhook ${id} does not exist for this application.`);
    return h;
  };
  // Docs: app-only bearer; OpenAPI also allows OAuth 1.0a user context on writes.
  const writer = { app: true, oauth1: true } as const;

  /** Posts a signed body to a webhook with X's retries; records it. `replayable: false` for replays. */
  function deliver(webhookId: string, kind: XDelivery['kind'], payload: object | string, extra: Partial<XDelivery> = {}): XDelivery {
    const hook = hooks.get(webhookId);
    if (!hook) throw new Error(`fake X: no webhook ${webhookId}`);
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const d: XDelivery = { id: snowflake(), webhookId, url: hook.url, kind, body, signature: signBody(secretOf(hook.consumerKey), body), firstAttemptAt: null, attempts: [], delivered: false, ...extra };
    deliveries.push(d);
    if (dropNext > 0 && kind !== 'replay_status' && !extra.replayJob) {
      dropNext--;
      d.dropped = true;
      return d; // X lost it: never attempted, so never replayed either
    }
    void host.track(attempt(d)).catch(() => undefined);
    return d;
  }

  async function attempt(d: XDelivery): Promise<XDelivery> {
    for (let i = 0; i <= host.retryDelaysMs.length && !host.closing(); i++) {
      if (i > 0) await host.sleep(host.retryDelaysMs[i - 1]!);
      if (host.closing()) break;
      const at = new Date();
      d.firstAttemptAt ??= at.getTime();
      const started = Date.now();
      try {
        const res = await host.outbound('POST', d.url, d.body, { 'content-type': 'application/json; charset=utf-8', [SIGNATURE_HEADER]: d.signature }, host.deliveryTimeoutMs);
        d.attempts.push({ at: at.toISOString(), status: res.status, ms: res.ms });
        if (res.status >= 200 && res.status < 300) {
          d.delivered = true;
          break;
        }
      } catch (err) {
        d.attempts.push({ at: at.toISOString(), error: (err as Error).message, ms: Date.now() - started });
      }
    }
    return d;
  }

  async function runReplay(job: ReplayJob): Promise<void> {
    const chosen = deliveries.filter((d) => d.webhookId === job.webhookId && d.kind !== 'replay_status' && !d.replayJob && d.firstAttemptAt !== null && d.firstAttemptAt >= job.from && d.firstAttemptAt < job.to);
    await host.sleep(20);
    for (const d of chosen) {
      const again = deliver(job.webhookId, d.kind, d.body, { replayJob: job.jobId });
      job.resent.push(again);
    }
    // Wait for the re-deliveries to settle, then report the job like X does.
    while (!host.closing() && job.resent.some((d) => !d.delivered && d.attempts.length <= host.retryDelaysMs.length)) await host.sleep(20);
    if (host.closing()) return;
    job.state = job.resent.every((d) => d.delivered) ? 'Complete' : 'Incomplete';
    if (hooks.has(job.webhookId)) {
      deliver(job.webhookId, 'replay_status', {
        replay_job_status: {
          webhook_id: job.webhookId,
          job_state: job.state,
          job_state_description: job.state === 'Complete' ? 'Job completed successfully' : 'Some events could not be delivered',
          job_id: job.jobId,
        },
      });
    }
  }

  const routes: XRoute[] = [
    [
      'GET',
      /^\/2\/webhooks$/,
      (c) => {
        const { consumerKey } = auth.requireAuth(c, { app: true });
        const list = ofApp(consumerKey);
        // X leaves `data` out when there is nothing to list.
        return { status: 200, body: list.length ? { data: list.map(hookJson), meta: { result_count: list.length } } : { meta: { result_count: 0 } } };
      },
    ],
    [
      'POST',
      /^\/2\/webhooks$/,
      async (c) => {
        const { consumerKey } = auth.requireAuth(c, writer);
        const url = validateUrl(json(c.body).url);
        const mine = ofApp(consumerKey);
        // X has answered WebhookLimitExceeded, not DuplicateUrlFailed, to the same URL at the limit.
        if (mine.length >= limit) throw invalidRequest('WebhookLimitExceeded', `Maximum number of webhooks (${limit}) reached for this application.`);
        if (mine.some((h) => h.url === url)) throw invalidRequest('DuplicateUrlFailed', 'A webhook with this URL already exists for this application.');
        const check = await crc(consumerKey, url, null);
        if (!check.ok) throw invalidRequest('CrcValidationFailed', `The CRC check of ${url} failed: ${check.reason}.`);
        const hook: FakeWebhook2 = { id: snowflake(), consumerKey, url, valid: true, createdAt: new Date().toISOString() };
        hooks.set(hook.id, hook);
        return { status: 200, body: { data: hookJson(hook) } };
      },
    ],
    [
      'PUT',
      /^\/2\/webhooks\/(\d+)$/,
      async (c, m) => {
        const { consumerKey } = auth.requireAuth(c, writer);
        const hook = hookOf(consumerKey, m[1]!);
        const check = await crc(consumerKey, hook.url, hook.id);
        hook.valid = check.ok;
        if (!check.ok) throw invalidRequest('CrcValidationFailed', `The CRC check of ${hook.url} failed: ${check.reason}.`);
        return { status: 200, body: { data: { valid: true } } };
      },
    ],
    [
      'DELETE',
      /^\/2\/webhooks\/(\d+)$/,
      (c, m) => {
        const { consumerKey } = auth.requireAuth(c, writer);
        const hook = hookOf(consumerKey, m[1]!);
        hooks.delete(hook.id);
        for (const f of onDelete) f(hook.id);
        return { status: 200, body: { data: { deleted: true } } };
      },
    ],
    [
      'POST',
      /^\/2\/webhooks\/replay$/,
      (c) => {
        const { consumerKey } = auth.requireAuth(c, { app: true });
        if (replayRefusal !== null) throw problem(400, 'Invalid Request', replayRefusal, 'invalid-request');
        const b = json(c.body);
        const webhookId = typeof b.webhook_id === 'string' ? b.webhook_id : '';
        hookOf(consumerKey, webhookId);
        const from = parseReplayDate(b.from_date);
        const to = parseReplayDate(b.to_date);
        if (from === undefined || to === undefined) throw problem(400, 'Invalid Request', 'from_date and to_date must be UTC timestamps in the format yyyymmddhhmm.', 'invalid-request');
        const now = Date.now();
        if (from < now - 24 * 3600_000) throw problem(400, 'Invalid Request', 'from_date must be within the last 24 hours.', 'invalid-request');
        if (to <= from) throw problem(400, 'Invalid Request', 'to_date must be after from_date.', 'invalid-request');
        if (to > now + 60_000) throw problem(400, 'Invalid Request', 'to_date must not be in the future.', 'invalid-request');
        // to_date names a minute: events of that whole minute are in the window.
        const job: ReplayJob = { jobId: snowflake(), webhookId, from, to: to + 60_000, createdAt: new Date().toISOString(), resent: [], state: 'running' };
        replays.push(job);
        void host.track(runReplay(job)).catch(() => undefined);
        return { status: 200, body: { data: { job_id: job.jobId, created_at: job.createdAt } } };
      },
    ],
  ];

  return {
    routes,
    hooks,
    crcChecks,
    deliveries,
    replays,
    deliver,
    onDelete,
    ofApp,
    /** Tests: CRC checks fail while on. */
    refuseCrc(on: boolean) {
      crcRefused = on;
    },
    /** Tests: the next `n` deliveries are lost by X (never attempted, never replayed). */
    dropNextDeliveries(n = 1) {
      dropNext += n;
    },
    /** Tests: X refuses every replay request with `detail` (null: replays work again). */
    refuseReplays(detail: string | null = 'Replay is not available for this webhook.') {
      replayRefusal = detail;
    },
    /** Tests: a webhook in place without a CRC. */
    addWebhook(consumerKey: string, url: string, valid = true): FakeWebhook2 {
      const hook: FakeWebhook2 = { id: snowflake(), consumerKey, url, valid, createdAt: new Date().toISOString() };
      hooks.set(hook.id, hook);
      return hook;
    },
  };
}

export type FakeWebhooks = ReturnType<typeof createWebhooks>;
