// The webhook watchdog of `omni listen`. Twitter marks a webhook invalid after one missed CRC (a
// restart, a slow moment) and then sends nothing, silently, until someone re-validates it. While the
// listener is up, a re-triggered CRC passes, so the watchdog asks Twitter for the state of every
// registered webhook each interval and re-triggers the CRC of an invalid one. Rounds never overlap
// (the next is scheduled when one ends), a rate-limited interaction waits for Twitter's reset, and
// stop() cuts calls in flight so a shutdown is not held up by Twitter.
import { listInteractions, type InteractionView } from '../db/interactions.js';
import { TwitterError } from '../twitter/errors.js';
import type { TwitterCredentials, TwitterGateway } from '../twitter/gateway.js';
import type { XGateway } from '../twitter/gateway-v2.js';
import { superviseWebhook, type WebhookDeps } from './service.js';
import { openXGateway } from './x-service.js';

/** Twitter's rate-limit window, used when a 429 carries no reset time. */
const RATE_LIMIT_WINDOW_MS = 15 * 60_000;

export const WATCHDOG_RESULTS = ['valid', 'revalidated', 'invalid', 'missing', 'rate_limited', 'error'] as const;
export type WatchdogResult = (typeof WATCHDOG_RESULTS)[number];

export interface WatchdogCheck {
  interactionId: number;
  at: string;
  result: WatchdogResult;
  /** Why (invalid, missing, errors), with the fix when there is one. */
  detail: string | null;
  /** X API 2026: the subscriptions found missing this round (before they were created again); absent when not checked. */
  subscriptionsMissing?: string[];
}

export interface WatchdogLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, err?: unknown, fields?: Record<string, unknown>): void;
}

export interface WatchdogOptions {
  deps: WebhookDeps;
  intervalMs: number;
  log: WatchdogLog;
  /** Every check, in order: the journal and the metrics. */
  onCheck: (check: WatchdogCheck) => void;
  /** Before the first round; 0 checks at once, since a restart is exactly when a CRC gets missed. */
  firstDelayMs?: number;
  /**
   * Once per fleet (src/db/fleet.ts): asked before every round after the first; false skips the
   * round (another listener of the database checked within the interval). The first round always
   * runs and stamps too: a restart is exactly when a CRC gets missed.
   */
  claimRound?: () => Promise<boolean>;
}

export interface Watchdog {
  /** Resolves once no round is running; calls to Twitter in flight are cut. Idempotent. */
  stop(): Promise<void>;
}

/** Interactions the watchdog looks after: live, not revoked, with a webhook omni registered. */
export function watchedInteractions(rows: InteractionView[]): InteractionView[] {
  return rows.filter((r) => r.webhook_id !== null && r.revoked_at === null);
}

export function startWatchdog(opts: WatchdogOptions): Watchdog {
  const { deps, log } = opts;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  /** interaction id → epoch ms before which it is not checked (Twitter's rate-limit reset). */
  const backoff = new Map<number, number>();
  // One gateway per set of credentials for the life of the watchdog: the app-only bearer token is
  // fetched once, not every round, and stop() can cut their connections.
  const gateways = new Map<string, Promise<TwitterGateway>>();
  const twitter: WebhookDeps['twitter'] = (credentials: TwitterCredentials, options) => {
    const key = [credentials.apiKey, credentials.apiSecretKey, credentials.accessToken, credentials.accessTokenSecret].join('\0');
    let gw = gateways.get(key);
    if (!gw) {
      gw = deps.twitter(credentials, options);
      gateways.set(key, gw);
      gw.catch(() => gateways.delete(key));
    }
    return gw;
  };
  // Once stopped, nothing more is written: a call cut short by stop() must not be stored on the
  // interaction as Twitter's last error.
  const db: WebhookDeps['db'] = () => (stopped ? Promise.reject(new Error('the watchdog has stopped')) : deps.db());
  // X API 2026 (activity, v2): one gateway per interaction and credentials (its bearer and token source).
  const xGateways = new Map<string, Promise<XGateway>>();
  const openX: WebhookDeps['openX'] = (row) => {
    const key = [row.id, row.api_key_enc, row.api_secret_key_enc, row.client_id_enc ?? ''].join('\0');
    let gw = xGateways.get(key);
    if (!gw) {
      gw = openXGateway({ ...deps, db }, row);
      xGateways.set(key, gw);
      gw.catch(() => xGateways.delete(key));
    }
    return gw;
  };
  const watchDeps: WebhookDeps = { ...deps, db, twitter, openX };

  const check = async (row: InteractionView): Promise<WatchdogCheck> => {
    const at = () => deps.now().toISOString();
    try {
      const r = await superviseWebhook(watchDeps, row);
      // Logged once: the next round finds them present.
      for (const sub of r.resubscribed ?? []) log.warn(`watchdog: a subscription of interaction #${row.id} was gone at X; created it again: ${sub}`, { interaction: row.id, subscription: sub });
      const detail = r.error ? `${r.error}${r.hint ? ` (${r.hint})` : ''}` : null;
      const missing = r.subscriptionsMissing ? { subscriptionsMissing: r.subscriptionsMissing } : {};
      return { interactionId: row.id, at: at(), result: r.outcome, detail, ...missing };
    } catch (err) {
      if (err instanceof TwitterError && err.kind === 'rate-limited') {
        const until = err.resetAt?.getTime() ?? deps.now().getTime() + RATE_LIMIT_WINDOW_MS;
        backoff.set(row.id, until);
        return { interactionId: row.id, at: at(), result: 'rate_limited', detail: `${err.message}; next check after ${new Date(until).toISOString()}` };
      }
      const e = err as { message?: string; hint?: string };
      return { interactionId: row.id, at: at(), result: 'error', detail: `${e.message ?? String(err)}${e.hint ? ` (${e.hint})` : ''}` };
    }
  };

  const report = (row: InteractionView, c: WatchdogCheck) => {
    const fields = { interaction: row.id, result: c.result, ...(c.detail ? { detail: c.detail } : {}) };
    switch (c.result) {
      case 'valid':
        return;
      case 'revalidated':
        return log.info(`watchdog: the webhook of interaction #${row.id} was invalid; Twitter re-checked it and it passed`, fields);
      case 'invalid':
        return log.warn(`watchdog: the webhook of interaction #${row.id} is invalid and its CRC failed again: ${c.detail}`, fields);
      case 'missing':
        return log.warn(`watchdog: ${c.detail}`, { ...fields, hint: `omni webhook register ${row.id}` });
      case 'rate_limited':
        return log.warn(`watchdog: interaction #${row.id}: ${c.detail}`, fields);
      case 'error':
        return log.warn(`watchdog: cannot check the webhook of interaction #${row.id}: ${c.detail}`, fields);
    }
  };

  let rounds = 0;
  const runRound = async () => {
    let rows: InteractionView[];
    try {
      const first = rounds++ === 0;
      // A claim that cannot be made (the database busy or away) skips a later round, never the first.
      if (opts.claimRound && !(await opts.claimRound().catch(() => false)) && !first) return;
      rows = watchedInteractions(await listInteractions((await db()).kysely));
    } catch (err) {
      if (!stopped) log.error('watchdog: cannot read the interactions', err);
      return;
    }
    for (const row of rows) {
      if (stopped) return;
      const until = backoff.get(row.id);
      if (until !== undefined && deps.now().getTime() < until) continue;
      backoff.delete(row.id);
      const c = await check(row);
      // After stop() the database may be closing: a check cut short is not worth a record.
      if (stopped) return;
      try {
        opts.onCheck(c);
      } catch (err) {
        log.error('watchdog: cannot record a check', err);
      }
      report(row, c);
    }
  };

  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      timer = undefined;
      round = runRound().finally(() => {
        round = undefined;
        if (!stopped) schedule(opts.intervalMs);
      });
    }, ms);
  };
  schedule(opts.firstDelayMs ?? 0);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const gw of gateways.values()) gw.then((g) => g.close(), () => undefined);
      for (const gw of xGateways.values()) gw.then((g) => g.close(), () => undefined);
      await round?.catch(() => undefined);
    },
  };
}
