// Wiring an interaction to its Twitter dev environment: register the webhook, subscribe the
// account, check, report and remove — and remember on the interaction what Twitter said (webhook
// id, validity, subscription, time, last error), on failure too, so `interaction show/list`
// and `omni doctor` can tell the story without calling Twitter. No printing here: callers pass
// `onStep` for progress and decide how to show results.
import type { InteractionView } from '../db/interactions.js';
import type { InteractionUpdate } from '../db/schema.js';
import { OmniError } from '../errors.js';
import { decryptSecrets, webhookUrl } from '../interactions/model.js';
import type { TwitterAccount, TwitterGateway, Webhook } from '../twitter/gateway.js';
import { TwitterError } from '../twitter/errors.js';
import { remember, rememberFailure, type Progress, type WebhookDeps } from './deps.js';
import { deregisterXWebhook, isXApi, superviseXWebhook } from './x-service.js';

export type { Progress, WebhookDeps } from './deps.js';

type Row = InteractionView;

/** The interaction is wired to Twitter (or was, as far as omni knows): `interaction delete` deregisters first. */
export function hasRegisteredWebhook(row: Pick<Row, 'webhook_id' | 'subscribed'>): boolean {
  return row.webhook_id !== null || row.subscribed === 1;
}

/** Another URL holds the environment's only webhook slot. */
export class ForeignWebhookError extends OmniError {
  constructor(
    readonly env: string,
    readonly foreign: Webhook,
    ours: string,
    interactionId: number,
  ) {
    super(`the dev environment '${env}' already has a webhook for another URL: ${foreign.url} (id ${foreign.id}, ${foreign.valid ? 'valid' : 'invalid'})`, {
      hint: `Twitter allows one webhook per environment. If nothing else uses it: omni webhook register ${interactionId} --replace (deletes it, then registers ${ours})`,
    });
    this.name = 'ForeignWebhookError';
  }
}

/** Twitter refused to remove the webhook or the subscription; `interaction delete` stops on it unless --force. */
export class DeregisterError extends OmniError {
  constructor(
    readonly interactionId: number,
    readonly twitter: unknown,
  ) {
    const reason = twitter instanceof Error ? twitter.message : String(twitter);
    super(`Twitter refused to remove the webhook of interaction ${interactionId}: ${reason}`, {
      ...((twitter as { hint?: string })?.hint ? { hint: (twitter as { hint: string }).hint } : {}),
      cause: twitter,
    });
    this.name = 'DeregisterError';
  }
}

async function gatewayFor(deps: WebhookDeps, row: Row): Promise<TwitterGateway> {
  // Callers send X API 2026 interactions to x-service.ts; reaching here with one is a bug.
  if (row.api !== 'v1.1') throw new Error(`interaction ${row.id} uses X API '${row.api}', not the v1.1 flow`);
  const secrets = decryptSecrets(row, await deps.secrets());
  return deps.twitter(secrets, { editCommand: `omni interaction edit ${row.id}` });
}

export type WebhookAction = 'registered' | 'revalidated' | 'unchanged' | 'replaced';

export interface RegisterResult {
  interactionId: number;
  devEnvironment: string;
  account: TwitterAccount;
  webhook: Webhook;
  action: WebhookAction;
  /** Webhooks deleted because of --replace. */
  replaced: Webhook[];
  subscription: 'subscribed' | 'already-subscribed';
  /** The stored account id changed: the credentials now belong to another account. */
  previousAccountId: string | null;
}

/**
 * verify_credentials → the environment's webhooks → keep / re-CRC / register (replacing another URL
 * only when asked) → subscribe. Safe to run again: a valid registration is left alone and
 * "already subscribed" counts as success.
 */
export async function registerWebhook(deps: WebhookDeps, row: Row, opts: { replace?: boolean; onStep?: Progress } = {}): Promise<RegisterResult> {
  const step = opts.onStep ?? (() => {});
  const env = row.dev_environment;
  const ours = webhookUrl(row.callback_url, row.id);
  const gw = await gatewayFor(deps, row);
  let failurePatch: InteractionUpdate = {};
  try {
    step('verifying the credentials');
    const account = await gw.verifyCredentials();
    const previousAccountId = row.account_user_id !== null && row.account_user_id !== account.userId ? row.account_user_id : null;
    // Stored at once: even if the rest fails, we know whose credentials these are.
    await remember(deps, row, { account_user_id: account.userId, account_screen_name: account.screenName });

    step(`reading the webhooks of the dev environment '${env}'`);
    const hooks = await gw.listWebhooks(env);
    const mine = hooks.find((h) => h.url === ours);
    const replaced: Webhook[] = [];
    let webhook: Webhook;
    let action: WebhookAction;
    if (mine && mine.valid) {
      webhook = mine;
      action = 'unchanged';
    } else if (mine) {
      step(`asking Twitter to re-check ${ours} (CRC)`);
      failurePatch = { webhook_id: mine.id, webhook_url: mine.url, webhook_valid: 0 };
      await gw.triggerCrc(env, mine.id, ours);
      webhook = { ...mine, valid: true };
      action = 'revalidated';
    } else {
      const others = hooks.filter((h) => h.url !== ours);
      if (others.length > 0 && !opts.replace) throw new ForeignWebhookError(env, others[0]!, ours, row.id);
      for (const other of others) {
        step(`deleting the webhook ${other.url}`);
        await gw.deleteWebhook(env, other.id);
        replaced.push(other);
      }
      step(`registering ${ours} (Twitter sends it a CRC now)`);
      failurePatch = { webhook_id: null, webhook_url: null, webhook_valid: null };
      webhook = await gw.registerWebhook(env, ours);
      action = replaced.length > 0 ? 'replaced' : 'registered';
    }
    failurePatch = { webhook_id: webhook.id, webhook_url: webhook.url, webhook_valid: webhook.valid ? 1 : 0 };

    step(`subscribing @${account.screenName}`);
    const subscription = await gw.subscribe(env);

    const now = deps.now().toISOString();
    // Verified credentials and a subscription Twitter accepted: the account authorised the app
    // again, so an earlier user_event.revoke no longer holds.
    const unrevoked = row.revoked_at !== null;
    const nothingNew = action === 'unchanged' && subscription === 'already-subscribed' && !unrevoked;
    await remember(
      deps,
      row,
      {
        webhook_id: webhook.id,
        webhook_url: webhook.url,
        webhook_valid: webhook.valid ? 1 : 0,
        subscribed: 1,
        webhook_checked_at: now,
        webhook_last_error: null,
        revoked_at: null,
        ...(nothingNew ? {} : { updated_at: now }),
      },
      nothingNew
        ? undefined
        : {
            action: 'webhook.register',
            changes: {
              devEnvironment: env,
              webhookId: webhook.id,
              url: webhook.url,
              result: action,
              subscription,
              ...(replaced.length ? { replaced: replaced.map((r) => r.url) } : {}),
              ...(unrevoked ? { revokedAt: { from: row.revoked_at, to: null } } : {}),
            },
          },
    );
    return { interactionId: row.id, devEnvironment: env, account, webhook, action, replaced, subscription, previousAccountId };
  } catch (err) {
    return rememberFailure(deps, row, err, failurePatch);
  }
}

export interface StatusResult {
  interactionId: number;
  devEnvironment: string;
  /** The URL omni serves for this interaction. */
  webhookUrl: string;
  account: { userId: string; screenName: string | null } | null;
  webhooks: Array<Webhook & { ours: boolean }>;
  subscribed: boolean;
  lastError: string | null;
  checkedAt: string;
}

/** Asks Twitter (webhooks of the environment, subscription) and refreshes the stored state; the last error is kept. */
export async function webhookStatus(deps: WebhookDeps, row: Row, opts: { onStep?: Progress } = {}): Promise<StatusResult> {
  const step = opts.onStep ?? (() => {});
  const env = row.dev_environment;
  const ours = webhookUrl(row.callback_url, row.id);
  const gw = await gatewayFor(deps, row);
  step(`reading the webhooks of '${env}'`);
  const hooks = await gw.listWebhooks(env);
  step('checking the subscription');
  const subscribed = await gw.isSubscribed(env);
  const mine = hooks.find((h) => h.url === ours);
  const checkedAt = deps.now().toISOString();
  await remember(deps, row, {
    webhook_id: mine?.id ?? null,
    webhook_url: mine?.url ?? null,
    webhook_valid: mine ? (mine.valid ? 1 : 0) : null,
    subscribed: subscribed ? 1 : 0,
    webhook_checked_at: checkedAt,
  });
  return {
    interactionId: row.id,
    devEnvironment: env,
    webhookUrl: ours,
    account: row.account_user_id ? { userId: row.account_user_id, screenName: row.account_screen_name } : null,
    webhooks: hooks.map((h) => ({ ...h, ours: h.url === ours })),
    subscribed,
    lastError: row.webhook_last_error,
    checkedAt,
  };
}

export interface CheckResult {
  interactionId: number;
  devEnvironment: string;
  webhook: Webhook;
  valid: boolean;
  /** Why Twitter found it invalid, and what to do. */
  error: string | null;
  hint: string | null;
}

/** Re-triggers the CRC of the interaction's webhook; an invalid result is a result, not an exception. */
export async function checkWebhook(deps: WebhookDeps, row: Row, opts: { onStep?: Progress } = {}): Promise<CheckResult> {
  const step = opts.onStep ?? (() => {});
  const env = row.dev_environment;
  const ours = webhookUrl(row.callback_url, row.id);
  const gw = await gatewayFor(deps, row);
  let mine: Webhook | undefined;
  try {
    step(`reading the webhooks of '${env}'`);
    const hooks = await gw.listWebhooks(env);
    mine = hooks.find((h) => h.url === ours);
    if (!mine) {
      const other = hooks[0];
      throw new OmniError(`interaction ${row.id} has no webhook on the dev environment '${env}'${other ? ` (it holds ${other.url})` : ''}`, {
        hint: `register it: omni webhook register ${row.id}${other ? ' --replace' : ''}`,
      });
    }
  } catch (err) {
    return rememberFailure(deps, row, err, mine ? {} : { webhook_id: null, webhook_url: null, webhook_valid: null });
  }
  return retriggerCrc(deps, row, gw, mine, step);
}

/** PUT (Twitter sends a CRC now) and remember the verdict; a failed CRC is a result. */
async function retriggerCrc(deps: WebhookDeps, row: Row, gw: TwitterGateway, mine: Webhook, step: Progress): Promise<CheckResult> {
  const env = row.dev_environment;
  const ours = webhookUrl(row.callback_url, row.id);
  try {
    step(`asking Twitter to send a CRC to ${ours}`);
    await gw.triggerCrc(env, mine.id, ours);
  } catch (err) {
    if (err instanceof TwitterError && err.kind === 'webhook-rejected') {
      await remember(deps, row, {
        webhook_id: mine.id,
        webhook_url: mine.url,
        webhook_valid: 0,
        webhook_checked_at: deps.now().toISOString(),
        webhook_last_error: err.message,
      });
      return { interactionId: row.id, devEnvironment: env, webhook: { ...mine, valid: false }, valid: false, error: err.message, hint: err.hint ?? null };
    }
    return rememberFailure(deps, row, err);
  }
  await remember(deps, row, { webhook_id: mine.id, webhook_url: mine.url, webhook_valid: 1, webhook_checked_at: deps.now().toISOString(), webhook_last_error: null });
  return { interactionId: row.id, devEnvironment: env, webhook: { ...mine, valid: true }, valid: true, error: null, hint: null };
}

export type SuperviseOutcome = 'valid' | 'revalidated' | 'invalid' | 'missing';

export interface SuperviseResult {
  interactionId: number;
  outcome: SuperviseOutcome;
  /** Why it is invalid or missing (Twitter's words when it gave any), and the fix. */
  error: string | null;
  hint: string | null;
  /** X API 2026: subscriptions found missing and created again. */
  resubscribed?: string[];
  /** X API 2026: subscriptions found missing this round, before any was created again (null: not checked). */
  subscriptionsMissing?: string[] | null;
}

/**
 * The listener watchdog's check: one read of the environment's webhooks; a valid webhook is left
 * alone, an invalid one gets its CRC re-triggered (the listener calling this is up, so the CRC
 * passes unless the URL does not reach it). A webhook gone from Twitter is reported, never
 * re-registered: the slot may now belong to another URL on purpose. Twitter errors (rate limit,
 * network, credentials) are remembered on the interaction and thrown.
 */
export async function superviseWebhook(deps: WebhookDeps, row: Row): Promise<SuperviseResult> {
  if (isXApi(row.api)) return { interactionId: row.id, ...(await superviseXWebhook(deps, row)) };
  const env = row.dev_environment;
  const ours = webhookUrl(row.callback_url, row.id);
  const gw = await gatewayFor(deps, row);
  let hooks: Webhook[];
  try {
    hooks = await gw.listWebhooks(env);
  } catch (err) {
    return rememberFailure(deps, row, err);
  }
  const mine = hooks.find((h) => h.url === ours);
  const checkedAt = deps.now().toISOString();
  if (!mine) {
    const other = hooks[0];
    const error = `the webhook ${ours} is no longer registered on '${env}'${other ? ` (the environment holds ${other.url})` : ''}`;
    // The stored webhook id stays: the interaction is still meant to be wired, and the watchdog keeps saying so.
    await remember(deps, row, { webhook_valid: 0, webhook_checked_at: checkedAt, webhook_last_error: error });
    return { interactionId: row.id, outcome: 'missing', error, hint: `register it again: omni webhook register ${row.id}${other ? ' --replace' : ''}` };
  }
  if (mine.valid) {
    await remember(deps, row, { webhook_id: mine.id, webhook_url: mine.url, webhook_valid: 1, webhook_checked_at: checkedAt });
    return { interactionId: row.id, outcome: 'valid', error: null, hint: null };
  }
  const r = await retriggerCrc(deps, row, gw, mine, () => {});
  return { interactionId: row.id, outcome: r.valid ? 'revalidated' : 'invalid', error: r.error, hint: r.hint };
}

/** Releases whatever the interaction holds at X, for any generation (`interaction delete`). */
export async function releaseWebhook(deps: WebhookDeps, row: Row): Promise<void> {
  if (isXApi(row.api)) await deregisterXWebhook(deps, row);
  else await deregisterWebhook(deps, row);
}

export interface DeregisterResult {
  interactionId: number;
  devEnvironment: string;
  subscription: 'unsubscribed' | 'not-subscribed';
  /** The webhook deleted, or null when Twitter had none of ours. */
  deletedWebhook: Webhook | null;
}

/**
 * Unsubscribes the account and deletes the interaction's webhook (ours only: a webhook for
 * another URL on the same environment is left alone), then clears the stored state. Idempotent:
 * nothing left on Twitter is not an error. Any refusal by Twitter is recorded on the
 * interaction and thrown as a DeregisterError carrying Twitter's reason and fix.
 */
export async function deregisterWebhook(deps: WebhookDeps, row: Row, opts: { onStep?: Progress } = {}): Promise<DeregisterResult> {
  const step = opts.onStep ?? (() => {});
  const env = row.dev_environment;
  const ours = webhookUrl(row.callback_url, row.id);
  try {
    const gw = await gatewayFor(deps, row);
    let userId = row.account_user_id;
    if (userId === null) {
      step('verifying the credentials');
      userId = (await gw.verifyCredentials()).userId;
    }
    step('unsubscribing the account');
    const subscription = await gw.unsubscribe(env, userId);
    step(`reading the webhooks of '${env}'`);
    const hooks = await gw.listWebhooks(env);
    // The callback URL may have been edited since registration: the stored URL is ours too.
    const mine = hooks.find((h) => h.url === ours || (row.webhook_url !== null && h.url === row.webhook_url));
    let deletedWebhook: Webhook | null = null;
    if (mine) {
      step(`deleting the webhook ${mine.url}`);
      if ((await gw.deleteWebhook(env, mine.id)) === 'deleted') deletedWebhook = mine;
    }
    const now = deps.now().toISOString();
    await remember(
      deps,
      row,
      { webhook_id: null, webhook_url: null, webhook_valid: null, subscribed: 0, webhook_checked_at: now, webhook_last_error: null, updated_at: now },
      { action: 'webhook.delete', changes: { devEnvironment: env, subscription, deletedWebhook: deletedWebhook ? { id: deletedWebhook.id, url: deletedWebhook.url } : null } },
    );
    return { interactionId: row.id, devEnvironment: env, subscription, deletedWebhook };
  } catch (err) {
    const wrapped = err instanceof TwitterError ? new DeregisterError(row.id, err) : err;
    return rememberFailure(deps, row, wrapped);
  }
}
