// Wiring an interaction on X's API of 2026 ('activity', 'v2') to X: the app's ONE webhook on
// /2/webhooks (pay-per-use allows one per app, so the interactions of one app share it: their rows
// hold the same `webhook_id`), and the account's subscriptions (subscriptions.ts). Register finds or
// creates the webhook and subscribes; status says exactly what is missing; check re-runs the CRC;
// delete removes this interaction's subscriptions and the webhook only when no other live
// interaction uses it. Like service.ts (v1.1), what X said is remembered on the interaction.
import { listInteractions, type InteractionView } from '../db/interactions.js';
import { getOAuthToken } from '../db/oauth-tokens.js';
import { patchHealth } from '../db/health.js';
import type { InteractionUpdate } from '../db/schema.js';
import { OmniError } from '../errors.js';
import { decryptSecrets, webhookUrl } from '../interactions/model.js';
import { openInteractionXGateway } from '../interactions/x-gateway.js';
import { TwitterError } from '../twitter/errors.js';
import { apiBaseUrl, apiTimeoutMs, type Webhook } from '../twitter/gateway.js';
import type { XGateway } from '../twitter/gateway-v2.js';
import { remember, rememberFailure, type Progress, type WebhookDeps } from './deps.js';
import { hasActiveXChat } from '../xchat/conversations.js';
import { activityEventTypes, describeSubscription, ensureSubscriptions, missingSubscriptions, neededSubscriptions, removeSubscriptions, type SubscriptionTarget } from './subscriptions.js';

type Row = InteractionView;
export type XApi = 'activity' | 'v2';

export function isXApi(api: string): api is XApi {
  return api === 'activity' || api === 'v2';
}

/** X's rules for a webhook URL (docs: https, no port, at most 200 characters). */
export const X_WEBHOOK_URL_MAX = 200;

/**
 * What is wrong with `url` as an X webhook URL, or undefined. Length always; https and "no port"
 * only when omni talks to X itself (a test double or a proxy on OMNI_TWITTER_API_URL has its own rules).
 */
export function xWebhookUrlProblem(url: string, strict: boolean): string | undefined {
  if (url.length > X_WEBHOOK_URL_MAX) return `is ${url.length} characters long; X accepts at most ${X_WEBHOOK_URL_MAX}`;
  if (!strict) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol !== 'https:') return 'is not https; X calls only https URLs';
  if (u.port) return `names the port ${u.port}; X calls only the default https port (443)`;
  return undefined;
}

/** True when OMNI_TWITTER_API_URL is X itself (its URL rules apply in full). */
export function talksToX(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname;
  return host === 'api.x.com' || host === 'api.twitter.com';
}

/** Where a fix is typed: the command line, or an `omni apply` file. */
export type Surface = 'command' | 'apply';

export class WebhookUrlError extends OmniError {
  constructor(row: Pick<Row, 'id' | 'name'> & { callbackUrlLength: number }, url: string, problem: string, surface: Surface) {
    const tooLong = url.length > X_WEBHOOK_URL_MAX;
    const want = tooLong ? `a callback URL of at most ${X_WEBHOOK_URL_MAX - (url.length - row.callbackUrlLength)} characters (X wants the whole webhook URL, <callback URL>/webhooks/twitter/${row.id}, within ${X_WEBHOOK_URL_MAX})` : 'an https callback URL without a port (a reverse proxy on 443 in front of omni listen)';
    const fix = surface === 'apply' ? `give interaction '${row.name}' ${want}: its callbackUrl in the file` : `give it ${want}: omni interaction edit ${row.id} --callback-url https://<host>`;
    super(`the webhook URL of interaction ${row.id} ${url} ${problem}`, { hint: fix });
    this.name = 'WebhookUrlError';
  }
}

/** The app's one webhook is taken by a URL omni does not serve. */
export class ForeignXWebhookError extends OmniError {
  constructor(row: Pick<Row, 'id'>, foreign: Webhook, ours: string) {
    super(`the app already holds its one webhook, for another URL: ${foreign.url} (id ${foreign.id}, ${foreign.valid ? 'valid' : 'invalid'}); X allows one webhook per app on pay-per-use`, {
      hint: `if nothing uses it any more: omni webhook register ${row.id} --replace (deletes it, then registers ${ours}); or delete it in the developer console`,
    });
    this.name = 'ForeignXWebhookError';
  }
}

/** The generation needs the account's OAuth 2.0 authorization, and there is none (or X refused it). */
export class NotAuthorizedError extends OmniError {
  constructor(row: Pick<Row, 'id' | 'name'>, what: string, lost?: { at: string; reason: string | null }) {
    super(
      lost
        ? `the X authorization of interaction ${row.id} '${row.name}' is lost (since ${lost.at}: ${lost.reason ?? 'refused by X'}); ${what} needs it`
        : `interaction ${row.id} '${row.name}' is not authorized with X yet: ${what} needs the support account's OAuth 2.0 authorization`,
      { hint: `as the support account: omni interaction authorize ${row.id}, then run this again` },
    );
    this.name = 'NotAuthorizedError';
  }
}

function xEnv(deps: WebhookDeps): { baseUrl: string; timeoutMs: number } {
  const env = deps.env ?? process.env;
  return { baseUrl: apiBaseUrl(env), timeoutMs: apiTimeoutMs(env) };
}

/** The X API 2026 gateway of an interaction: app bearer from its API key/secret, its OAuth 2.0 token when authorized, OAuth 1.0a as the fallback. */
export async function openXGateway(deps: WebhookDeps, row: Row): Promise<XGateway> {
  const box = await deps.secrets();
  const db = (await deps.db()).kysely;
  const authorized = (await getOAuthToken(db, row.id)) !== undefined;
  return openInteractionXGateway({ db, box, ...xEnv(deps), ...(deps.env?.OMNI_TWITTER_CLIENT_ID ? { clientIdFallback: deps.env.OMNI_TWITTER_CLIENT_ID } : {}), now: deps.now }, row, {
    withoutUserToken: !authorized,
    oauth1: decryptSecrets(row, box),
  });
}

/** The gateway for one call sequence; closed after unless the deps own it (the watchdog's cache). */
async function withGateway<T>(deps: WebhookDeps, row: Row, work: (gw: XGateway) => Promise<T>): Promise<T> {
  if (deps.openX) return work(await deps.openX(row));
  const gw = await openXGateway(deps, row);
  try {
    return await work(gw);
  } finally {
    gw.close();
  }
}

/** The account to subscribe: from `omni interaction authorize`; refuses before any call to X. */
async function authorizedAccount(deps: WebhookDeps, row: Row, what: string): Promise<{ userId: string; username: string | null }> {
  const token = await getOAuthToken((await deps.db()).kysely, row.id);
  if (!token) throw new NotAuthorizedError(row, what);
  if (token.lost_at !== null) throw new NotAuthorizedError(row, what, { at: token.lost_at, reason: token.lost_reason });
  const userId = token.account_user_id ?? row.account_user_id;
  if (!userId) throw new NotAuthorizedError(row, what);
  return { userId, username: token.account_username ?? row.account_screen_name };
}

/** Other live X API 2026 interactions of this database sharing `webhookId`. */
async function sharers(deps: WebhookDeps, row: Row, webhookId: string | null): Promise<Row[]> {
  if (webhookId === null) return [];
  const all = await listInteractions((await deps.db()).kysely);
  return all.filter((r) => r.id !== row.id && r.deleted_at === null && isXApi(r.api) && r.webhook_id === webhookId);
}

/**
 * The interaction's webhook among the app's: the one it stored, the one at its own URL, one another
 * interaction of this database stored, or one omni serves under the same callback URL (any
 * interaction path: intake routes by account).
 */
async function findOurs(deps: WebhookDeps, row: Row, hooks: Webhook[]): Promise<Webhook | undefined> {
  const stored = (await listInteractions((await deps.db()).kysely)).filter((r) => r.id !== row.id && isXApi(r.api) && r.webhook_id !== null).map((r) => r.webhook_id!);
  return pickOurWebhook(row, hooks, new Set(stored));
}

/** Pure form of findOurs: `storedByOthers` are the webhook ids other live interactions hold. */
export function pickOurWebhook(row: Pick<Row, 'id' | 'callback_url' | 'webhook_id'>, hooks: Webhook[], storedByOthers: ReadonlySet<string>): Webhook | undefined {
  const ours = webhookUrl(row.callback_url, row.id);
  const prefix = `${row.callback_url.replace(/\/+$/, '')}/webhooks/twitter/`;
  return (
    (row.webhook_id === null ? undefined : hooks.find((h) => h.id === row.webhook_id)) ??
    hooks.find((h) => h.url === ours) ??
    hooks.find((h) => storedByOthers.has(h.id)) ??
    hooks.find((h) => h.url.startsWith(prefix) && /^\d+$/.test(h.url.slice(prefix.length)))
  );
}

export function target(row: Pick<Row, 'id' | 'api'>, accountUserId: string, webhookId: string, eventTypes?: readonly string[]): SubscriptionTarget {
  return { api: row.api as XApi, interactionId: row.id, accountUserId, webhookId, ...(eventTypes ? { eventTypes } : {}) };
}

/** The Activity API event types of an interaction: X Chat's too when it has an active identity (docs/xchat.md). */
export async function eventTypesOf(deps: Pick<WebhookDeps, 'db'>, row: Pick<Row, 'id' | 'api'>): Promise<readonly string[] | undefined> {
  if (row.api !== 'activity') return undefined;
  return (await hasActiveXChat((await deps.db()).kysely, row.id)) ? activityEventTypes(true) : undefined;
}

/** X's generic fix names "<interaction>": name this one. */
function named<E>(err: E, row: Row): E {
  if (err instanceof OmniError && err.hint?.includes('<interaction>')) (err as { hint?: string }).hint = err.hint.replaceAll('<interaction>', String(row.id));
  return err;
}

export type XWebhookAction = 'registered' | 'replaced' | 'reused' | 'revalidated' | 'unchanged';

export interface XRegisterResult {
  interactionId: number;
  api: XApi;
  account: { userId: string; username: string | null };
  webhook: Webhook;
  action: XWebhookAction;
  /** Webhooks deleted because of --replace. */
  replaced: Webhook[];
  /** Other interactions using the same webhook. */
  sharedWith: number[];
  subscriptions: { created: string[]; present: string[] };
}

/**
 * Authorization first (the account to subscribe), then GET /2/webhooks: reuse the app's webhook when
 * omni serves it (re-validating an invalid one), refuse a foreign URL unless `replace`, else create
 * it (X runs the CRC now); store its id; then create the missing subscriptions. Safe to run again.
 */
export async function registerXWebhook(deps: WebhookDeps, row: Row, opts: { replace?: boolean; onStep?: Progress; surface?: Surface } = {}): Promise<XRegisterResult> {
  const step = opts.onStep ?? (() => {});
  const api = row.api as XApi;
  const ours = webhookUrl(row.callback_url, row.id);
  const account = await authorizedAccount(deps, row, `subscribing the support account to its DMs`);
  let failurePatch: InteractionUpdate = {};
  try {
    return await withGateway(deps, row, async (gw) => {
      step('reading the app’s webhooks (GET /2/webhooks)');
      let hooks = await gw.listWebhooks();
      let mine = await findOurs(deps, row, hooks);
      const replaced: Webhook[] = [];
      let action: XWebhookAction;
      if (mine && mine.valid) {
        action = mine.id === row.webhook_id ? 'unchanged' : 'reused';
      } else if (mine) {
        step(`asking X to re-check ${mine.url} (CRC)`);
        failurePatch = { webhook_id: mine.id, webhook_url: mine.url, webhook_valid: 0 };
        await gw.revalidateWebhook(mine.id, mine.url);
        mine = { ...mine, valid: true };
        action = 'revalidated';
      } else {
        const problem = xWebhookUrlProblem(ours, talksToX(gw.baseUrl));
        if (problem) throw new WebhookUrlError({ id: row.id, name: row.name, callbackUrlLength: row.callback_url.replace(/\/+$/, '').length }, ours, problem, opts.surface ?? 'command');
        const foreign = hooks[0];
        if (foreign && !opts.replace) throw new ForeignXWebhookError(row, foreign, ours);
        for (const other of hooks) {
          step(`deleting the webhook ${other.url}`);
          await gw.deleteWebhook(other.id);
          replaced.push(other);
        }
        step(`registering ${ours} (X sends it a CRC now)`);
        failurePatch = { webhook_id: null, webhook_url: null, webhook_valid: null };
        try {
          mine = await gw.createWebhook(ours);
        } catch (err) {
          // Registered meanwhile (another omni, a retry): X answers the limit or the duplicate; reuse it.
          if (!(err instanceof TwitterError && (err.kind === 'webhook-limit' || err.kind === 'duplicate-url'))) throw err;
          hooks = await gw.listWebhooks();
          mine = await findOurs(deps, row, hooks);
          if (!mine) throw hooks[0] ? new ForeignXWebhookError(row, hooks[0], ours) : err;
        }
        action = replaced.length > 0 ? 'replaced' : 'registered';
      }
      const webhook = mine;
      failurePatch = { webhook_id: webhook.id, webhook_url: webhook.url, webhook_valid: webhook.valid ? 1 : 0 };
      await remember(deps, row, { ...failurePatch, account_user_id: account.userId, ...(account.username ? { account_screen_name: account.username } : {}) });

      step('reading the subscriptions');
      const t = target(row, account.userId, webhook.id, await eventTypesOf(deps, row));
      const subs = await ensureSubscriptions(gw, t, { onStep: step });
      const now = deps.now().toISOString();
      const nothingNew = action === 'unchanged' && subs.created.length === 0 && row.revoked_at === null && row.subscribed === 1;
      await remember(
        deps,
        row,
        { ...failurePatch, subscribed: 1, webhook_checked_at: now, webhook_last_error: null, revoked_at: null, ...(nothingNew ? {} : { updated_at: now }) },
        nothingNew
          ? undefined
          : {
              action: 'webhook.register',
              changes: {
                api,
                webhookId: webhook.id,
                url: webhook.url,
                result: action,
                subscriptions: subs.created.map(describeSubscription),
                ...(replaced.length ? { replaced: replaced.map((r) => r.url) } : {}),
                ...(row.revoked_at !== null ? { revokedAt: { from: row.revoked_at, to: null } } : {}),
              },
            },
      );
      return {
        interactionId: row.id,
        api,
        account,
        webhook,
        action,
        replaced,
        sharedWith: (await sharers(deps, row, webhook.id)).map((r) => r.id),
        subscriptions: { created: subs.created.map(describeSubscription), present: subs.present.map(describeSubscription) },
      };
    });
  } catch (err) {
    return rememberFailure(deps, row, named(err, row), failurePatch);
  }
}

export type XWebhookState = 'valid' | 'invalid' | 'missing';

export interface XStatusResult {
  interactionId: number;
  api: XApi;
  /** The URL omni serves for this interaction. */
  webhookUrl: string;
  account: { userId: string; username: string | null } | null;
  /** The interaction's webhook at X, or null when X has none of ours. */
  webhook: Webhook | null;
  state: XWebhookState;
  /** Every webhook of the app (one on pay-per-use), and whether it is this interaction's. */
  appWebhooks: Array<Webhook & { ours: boolean }>;
  sharedWith: number[];
  /** null when they could not be compared (no authorization, or no webhook), with why. */
  subscriptions: { present: string[]; missing: string[] } | null;
  subscriptionsUnknown: string | null;
  lastError: string | null;
  checkedAt: string;
}

/** GET /2/webhooks and the subscriptions; exactly what is missing. Refreshes the stored state. */
export async function xWebhookStatus(deps: WebhookDeps, row: Row, opts: { onStep?: Progress } = {}): Promise<XStatusResult> {
  const step = opts.onStep ?? (() => {});
  const api = row.api as XApi;
  let account: { userId: string; username: string | null } | null = null;
  let unknown: string | null = null;
  try {
    account = await authorizedAccount(deps, row, 'checking the subscriptions');
  } catch (err) {
    if (!(err instanceof NotAuthorizedError)) throw err;
    unknown = `${err.message} (${err.hint})`;
  }
  return withGateway(deps, row, async (gw) => {
    step('reading the app’s webhooks (GET /2/webhooks)');
    const hooks = await gw.listWebhooks();
    const mine = await findOurs(deps, row, hooks);
    let subscriptions: XStatusResult['subscriptions'] = null;
    if (!mine) unknown ??= `no webhook: omni webhook register ${row.id}`;
    else if (account) {
      step('reading the subscriptions');
      const c = await missingSubscriptions(gw, target(row, account.userId, mine.id, await eventTypesOf(deps, row)));
      subscriptions = { present: c.present.map((p) => describeSubscription(p.subscription)), missing: c.missing.map(describeSubscription) };
    }
    const checkedAt = deps.now().toISOString();
    await remember(deps, row, {
      webhook_id: mine?.id ?? null,
      webhook_url: mine?.url ?? null,
      webhook_valid: mine ? (mine.valid ? 1 : 0) : null,
      ...(subscriptions ? { subscribed: subscriptions.missing.length === 0 ? 1 : 0 } : mine ? {} : { subscribed: 0 }),
      webhook_checked_at: checkedAt,
    });
    return {
      interactionId: row.id,
      api,
      webhookUrl: webhookUrl(row.callback_url, row.id),
      account,
      webhook: mine ?? null,
      state: !mine ? 'missing' : mine.valid ? 'valid' : 'invalid',
      appWebhooks: hooks.map((h) => ({ ...h, ours: h.id === mine?.id })),
      sharedWith: mine ? (await sharers(deps, row, mine.id)).map((r) => r.id) : [],
      subscriptions,
      subscriptionsUnknown: subscriptions ? null : unknown,
      lastError: row.webhook_last_error,
      checkedAt,
    };
  });
}

export interface XCheckResult {
  interactionId: number;
  webhook: Webhook;
  valid: boolean;
  error: string | null;
  hint: string | null;
}

/** PUT /2/webhooks/{id}: X re-runs the CRC now. A failed CRC is a result (valid: false), not an exception. */
export async function checkXWebhook(deps: WebhookDeps, row: Row, opts: { onStep?: Progress } = {}): Promise<XCheckResult> {
  const step = opts.onStep ?? (() => {});
  return withGateway(deps, row, async (gw) => {
    let mine: Webhook | undefined;
    try {
      step('reading the app’s webhooks (GET /2/webhooks)');
      const hooks = await gw.listWebhooks();
      mine = await findOurs(deps, row, hooks);
      if (!mine) {
        const other = hooks[0];
        throw new OmniError(`interaction ${row.id} has no webhook at X${other ? ` (the app's one webhook is ${other.url})` : ''}`, {
          hint: `register it: omni webhook register ${row.id}${other ? ' --replace' : ''}`,
        });
      }
    } catch (err) {
      return rememberFailure(deps, row, named(err, row), mine ? {} : { webhook_id: null, webhook_url: null, webhook_valid: null });
    }
    return recheck(deps, row, gw, mine, step);
  });
}

async function recheck(deps: WebhookDeps, row: Row, gw: XGateway, mine: Webhook, step: Progress): Promise<XCheckResult> {
  try {
    step(`asking X to send a CRC to ${mine.url} (PUT /2/webhooks/${mine.id})`);
    await gw.revalidateWebhook(mine.id, mine.url);
  } catch (err) {
    if (err instanceof TwitterError && err.kind === 'crc-failed') {
      await remember(deps, row, { webhook_id: mine.id, webhook_url: mine.url, webhook_valid: 0, webhook_checked_at: deps.now().toISOString(), webhook_last_error: err.message });
      return { interactionId: row.id, webhook: { ...mine, valid: false }, valid: false, error: err.message, hint: err.hint ?? null };
    }
    return rememberFailure(deps, row, named(err, row));
  }
  await remember(deps, row, { webhook_id: mine.id, webhook_url: mine.url, webhook_valid: 1, webhook_checked_at: deps.now().toISOString(), webhook_last_error: null });
  return { interactionId: row.id, webhook: { ...mine, valid: true }, valid: true, error: null, hint: null };
}

export interface XSuperviseResult {
  outcome: 'valid' | 'revalidated' | 'invalid' | 'missing';
  error: string | null;
  hint: string | null;
  /** Subscriptions found missing and created again this round. */
  resubscribed: string[];
  /** Subscriptions found missing this round, before any was created again (null: not checked: not authorized). */
  subscriptionsMissing?: string[] | null;
}

/**
 * The watchdog's round for one interaction: the webhook's `valid` from GET /2/webhooks (an invalid
 * one gets a PUT, which passes while the listener is up), then the account's subscriptions: a
 * missing one is created again. A webhook gone from X is reported, never re-created here.
 */
export async function superviseXWebhook(deps: WebhookDeps, row: Row): Promise<XSuperviseResult> {
  return withGateway(deps, row, async (gw) => {
    let hooks: Webhook[];
    try {
      hooks = await gw.listWebhooks();
    } catch (err) {
      return rememberFailure(deps, row, named(err, row));
    }
    const mine = await findOurs(deps, row, hooks);
    const checkedAt = deps.now().toISOString();
    if (!mine) {
      const other = hooks[0];
      const error = `the webhook of interaction ${row.id} is no longer registered at X${other ? ` (the app's one webhook is ${other.url})` : ''}`;
      await remember(deps, row, { webhook_valid: 0, webhook_checked_at: checkedAt, webhook_last_error: error });
      return { outcome: 'missing', error, hint: `omni webhook register ${row.id}${other ? ' --replace' : ''}`, resubscribed: [], subscriptionsMissing: null };
    }
    let outcome: XSuperviseResult['outcome'] = 'valid';
    let error: string | null = null;
    let hint: string | null = null;
    if (mine.valid) {
      await remember(deps, row, { webhook_id: mine.id, webhook_url: mine.url, webhook_valid: 1, webhook_checked_at: checkedAt });
    } else {
      const r = await recheck(deps, row, gw, mine, () => {});
      outcome = r.valid ? 'revalidated' : 'invalid';
      error = r.error;
      hint = r.hint;
    }
    const resubscribed: string[] = [];
    let subscriptionsMissing: string[] | null = null;
    const db = (await deps.db()).kysely;
    const token = await getOAuthToken(db, row.id);
    const userId = token?.account_user_id ?? row.account_user_id;
    if (token && token.lost_at === null && userId) {
      const t = target(row, userId, mine.id, await eventTypesOf(deps, row));
      const c = await missingSubscriptions(gw, t);
      subscriptionsMissing = c.missing.map(describeSubscription);
      // Recorded as found (account health: `omni status`), then again once created: a failure to
      // create them leaves them recorded missing.
      await patchHealth(db, [row.id], { subscriptions_missing: JSON.stringify(subscriptionsMissing), subscriptions_checked_at: checkedAt }, checkedAt);
      if (c.missing.length > 0) {
        const made = await ensureSubscriptions(gw, t, { known: c });
        resubscribed.push(...made.created.map(describeSubscription));
        await remember(deps, row, { subscribed: 1 }, made.created.length ? { action: 'webhook.resubscribe', changes: { subscriptions: resubscribed } } : undefined);
        const still = c.missing.filter((n) => !made.created.includes(n) && !made.present.includes(n)).map(describeSubscription);
        const at = deps.now().toISOString();
        await patchHealth(db, [row.id], { subscriptions_missing: JSON.stringify(still), subscriptions_checked_at: at }, at);
      }
    }
    return { outcome, error, hint, resubscribed, subscriptionsMissing };
  });
}

export interface XDeregisterResult {
  interactionId: number;
  api: XApi;
  /** Subscriptions removed (X's ids, or the user id for v2). */
  removedSubscriptions: string[];
  /** The webhook deleted, or null: none, or kept for the interactions in `keptFor`. */
  deletedWebhook: Webhook | null;
  keptFor: number[];
  /**
   * The app's webhook named this interaction's URL and others still use it: it was re-created at
   * the URL of the first of them (X runs the CRC there) and their subscriptions moved to it.
   */
  handedOver: { interactionId: number; webhook: Webhook } | null;
}

/**
 * Removes this interaction's subscriptions (bearer) and the webhook only when no other live
 * interaction uses the same webhook id; clears the stored state. Nothing left at X is not an error.
 * The account's subscriptions stay while another interaction on the same webhook serves the same account.
 */
export async function deregisterXWebhook(deps: WebhookDeps, row: Row, opts: { onStep?: Progress } = {}): Promise<XDeregisterResult> {
  const step = opts.onStep ?? (() => {});
  const api = row.api as XApi;
  try {
    return await withGateway(deps, row, async (gw) => {
      step('reading the app’s webhooks (GET /2/webhooks)');
      const hooks = await gw.listWebhooks();
      const mine = await findOurs(deps, row, hooks);
      const webhookId = mine?.id ?? row.webhook_id;
      const others = await sharers(deps, row, webhookId);
      const token = await getOAuthToken((await deps.db()).kysely, row.id);
      const userId = token?.account_user_id ?? row.account_user_id;
      let removed: string[] = [];
      if (userId && !others.some((o) => o.account_user_id === userId)) {
        step('removing the subscriptions');
        if (api === 'activity') removed = (await removeSubscriptions(gw, { api, interactionId: row.id, accountUserId: userId, webhookId, eventTypes: activityEventTypes(true) })).removed;
        else if (mine) removed = (await removeSubscriptions(gw, target(row, userId, mine.id))).removed;
      }
      let deletedWebhook: Webhook | null = null;
      if (mine && others.length === 0) {
        step(`deleting the webhook ${mine.url}`);
        if ((await gw.deleteWebhook(mine.id)) === 'deleted') deletedWebhook = mine;
      }
      const handedOver = mine && others.length > 0 && mine.url === webhookUrl(row.callback_url, row.id) ? await handOver(deps, gw, mine, others, step) : null;
      const now = deps.now().toISOString();
      await remember(
        deps,
        row,
        { webhook_id: null, webhook_url: null, webhook_valid: null, subscribed: 0, webhook_checked_at: now, webhook_last_error: null, updated_at: now },
        {
          action: 'webhook.delete',
          changes: {
            api,
            removedSubscriptions: removed,
            deletedWebhook: deletedWebhook ? { id: deletedWebhook.id, url: deletedWebhook.url } : null,
            ...(others.length ? { keptFor: others.map((o) => o.id) } : {}),
            ...(handedOver ? { handedOver: { to: handedOver.interactionId, webhookId: handedOver.webhook.id, url: handedOver.webhook.url } } : {}),
          },
        },
      );
      return { interactionId: row.id, api, removedSubscriptions: removed, deletedWebhook, keptFor: mine ? others.map((o) => o.id) : [], handedOver };
    });
  } catch (err) {
    return rememberFailure(deps, row, named(err, row));
  }
}

/**
 * X posts every account's events to the one URL of the app's webhook, and that URL names one
 * interaction's path. When that interaction leaves while others still use the webhook, the URL
 * would name an interaction that no longer takes deliveries: the webhook is re-created at the URL of
 * the first remaining interaction (X allows one per app, so delete first; X runs the CRC against the
 * listener there), the others store its new id, and their subscriptions are created on it. Events X
 * sends in the seconds between delete and create are not attempted, so not replayable: omni reconcile
 * (X's DM history) recovers them.
 */
async function handOver(deps: WebhookDeps, gw: XGateway, old: Webhook, heirs: Row[], step: Progress): Promise<{ interactionId: number; webhook: Webhook }> {
  const heir = heirs[0]!;
  const url = webhookUrl(heir.callback_url, heir.id);
  step(`the webhook names this interaction's URL and interaction${heirs.length > 1 ? 's' : ''} ${heirs.map((h) => h.id).join(', ')} still use${heirs.length > 1 ? '' : 's'} it: moving it to ${url}`);
  await gw.deleteWebhook(old.id);
  let webhook: Webhook;
  try {
    webhook = await gw.createWebhook(url);
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    throw new OmniError(`the app's webhook was deleted, but re-creating it at ${url} failed: ${cause}`, { hint: `start omni listen where that URL points, then: omni webhook register ${heir.id}` });
  }
  for (const other of heirs) {
    const now = deps.now().toISOString();
    await remember(deps, other, { webhook_id: webhook.id, webhook_url: webhook.url, webhook_valid: webhook.valid ? 1 : 0, webhook_checked_at: now, updated_at: now }, { action: 'webhook.move', changes: { api: other.api, from: { id: old.id, url: old.url }, to: { id: webhook.id, url: webhook.url } } });
    const account = (await getOAuthToken((await deps.db()).kysely, other.id))?.account_user_id ?? other.account_user_id;
    if (account === null) continue;
    step(`moving the subscriptions of interaction ${other.id} to the new webhook`);
    // Activity API subscriptions name their webhook; v2 ones lived under the deleted webhook's path.
    if (other.api === 'activity') await removeSubscriptions(gw, target(other, account, old.id));
    await withGateway(deps, other, (ogw) => ensureSubscriptions(ogw, target(other, account, webhook.id), { onStep: step }));
  }
  return { interactionId: heir.id, webhook };
}

/** For doctor and show: the subscriptions an authorized interaction needs, described. */
export function neededDescriptions(row: Row, accountUserId: string, webhookId: string, eventTypes?: readonly string[]): string[] {
  return neededSubscriptions(target(row, accountUserId, webhookId, eventTypes)).map(describeSubscription);
}
