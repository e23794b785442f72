// The subscriptions an interaction needs on X's API of 2026, per generation, and the functions that
// compare them with what X holds, create what is missing and remove ours:
// - 'activity' (X Activity API): one subscription per event type (dm.received and dm.sent; X Chat
//   adds chat.received/chat.sent through `eventTypes`), filtered on the account, tagged
//   `omni:<interaction id>`, created with the account's OAuth 2.0 user token. With a webhook id the
//   events also go to that webhook; without one (the stream mode of `omni listen --stream`) they
//   reach the app's activity stream only, so any subscription of that type and account will do.
// - 'v2' (Account Activity API v2): the account subscribed to the app's webhook
//   (`subscriptions/all`, user context); listed and removed with the app bearer.
// X's "DuplicateSubscriptionFailed" means it is there already: success. Pure of the database and
// the terminal: the webhooks service, the doctor, the watchdog and the stream consumer share it.
import type { ActivitySubscription, XGateway } from '../twitter/gateway-v2.js';

/** What these functions call on the gateway (a narrower type keeps them testable and reusable). */
export type SubscriptionGateway = Pick<
  XGateway,
  'listActivitySubscriptions' | 'createActivitySubscription' | 'deleteActivitySubscription' | 'aaaListSubscriptions' | 'aaaSubscribe' | 'aaaUnsubscribe'
>;

/** The DM events a helpdesk needs: what customers send, and our own sends (echoes). */
export const DM_EVENT_TYPES = ['dm.received', 'dm.sent'] as const;

/** X Chat (encrypted DMs, docs/xchat.md): an account with an active X Chat identity also needs these. */
export const CHAT_EVENT_TYPES = ['chat.received', 'chat.sent'] as const;

/** The Activity API event types an interaction needs: the DM ones, and X Chat's when it has an active identity. */
export function activityEventTypes(xchat: boolean): readonly string[] {
  return xchat ? [...DM_EVENT_TYPES, ...CHAT_EVENT_TYPES] : DM_EVENT_TYPES;
}

/** The tag omni puts on its Activity API subscriptions: whose they are. */
export function subscriptionTag(interactionId: number): string {
  return `omni:${interactionId}`;
}

/** Whose subscriptions, for which generation, delivered where. */
export interface SubscriptionTarget {
  api: 'activity' | 'v2';
  interactionId: number;
  /** The support account (from `omni interaction authorize`). */
  accountUserId: string;
  /** X's /2/webhooks id; null for the stream mode (activity only). */
  webhookId: string | null;
  /** Activity API event types; default dm.received and dm.sent. */
  eventTypes?: readonly string[];
}

export type NeededSubscription =
  | { api: 'activity'; eventType: string; userId: string; webhookId: string | null; tag: string }
  | { api: 'v2'; userId: string; webhookId: string };

export function neededSubscriptions(t: SubscriptionTarget): NeededSubscription[] {
  if (t.api === 'v2') {
    if (t.webhookId === null) throw new Error('an Account Activity v2 subscription needs a webhook id');
    return [{ api: 'v2', userId: t.accountUserId, webhookId: t.webhookId }];
  }
  const tag = subscriptionTag(t.interactionId);
  return (t.eventTypes ?? DM_EVENT_TYPES).map((eventType) => ({ api: 'activity' as const, eventType, userId: t.accountUserId, webhookId: t.webhookId, tag }));
}

/** One phrase for messages and JSON: "dm.received of user 123 to webhook 456". */
export function describeSubscription(n: NeededSubscription): string {
  if (n.api === 'v2') return `Account Activity (all events) of user ${n.userId} on webhook ${n.webhookId}`;
  return `${n.eventType} of user ${n.userId} ${n.webhookId === null ? 'to the activity stream' : `to webhook ${n.webhookId}`}`;
}

/** Whether an existing Activity API subscription delivers what `n` needs. */
function satisfies(s: ActivitySubscription, n: Extract<NeededSubscription, { api: 'activity' }>): boolean {
  if (s.eventType !== n.eventType || s.userId !== n.userId) return false;
  // Every subscription feeds the stream; a webhook gets only the ones naming it.
  return n.webhookId === null || s.webhookId === n.webhookId;
}

export interface SubscriptionCheck {
  needed: NeededSubscription[];
  /** Present ones, with X's subscription id (null for v2, which has none). */
  present: Array<{ subscription: NeededSubscription; id: string | null; tag: string | null }>;
  missing: NeededSubscription[];
}

/** Compares what the target needs with what X lists (app bearer): exactly which are missing. */
export async function missingSubscriptions(gw: SubscriptionGateway, t: SubscriptionTarget): Promise<SubscriptionCheck> {
  const needed = neededSubscriptions(t);
  const present: SubscriptionCheck['present'] = [];
  const missing: NeededSubscription[] = [];
  if (t.api === 'v2') {
    const users = await gw.aaaListSubscriptions(t.webhookId!);
    for (const n of needed) (users.includes(n.userId) ? present.push({ subscription: n, id: null, tag: null }) : missing.push(n));
    return { needed, present, missing };
  }
  const subs = await gw.listActivitySubscriptions();
  for (const n of needed) {
    if (n.api !== 'activity') continue;
    // Ours first (tagged for this interaction), then any that delivers the same events.
    const found = subs.find((s) => satisfies(s, n) && s.tag === n.tag) ?? subs.find((s) => satisfies(s, n));
    if (found) present.push({ subscription: n, id: found.id, tag: found.tag });
    else missing.push(n);
  }
  return { needed, present, missing };
}

export interface EnsureResult {
  /** Created now. */
  created: NeededSubscription[];
  /** There already (listed, or X answered DuplicateSubscriptionFailed). */
  present: NeededSubscription[];
}

/**
 * Creates what is missing (the account's user token; X's duplicate answer counts as present).
 * `known` skips the listing when the caller has just compared.
 */
export async function ensureSubscriptions(gw: SubscriptionGateway, t: SubscriptionTarget, opts: { known?: SubscriptionCheck; onStep?: (step: string) => void } = {}): Promise<EnsureResult> {
  const check = opts.known ?? (await missingSubscriptions(gw, t));
  const created: NeededSubscription[] = [];
  const present = check.present.map((p) => p.subscription);
  for (const n of check.missing) {
    opts.onStep?.(`subscribing: ${describeSubscription(n)}`);
    if (n.api === 'v2') {
      const r = await gw.aaaSubscribe(n.webhookId);
      (r === 'subscribed' ? created : present).push(n);
    } else {
      const r = await gw.createActivitySubscription({ eventType: n.eventType, userId: n.userId, tag: n.tag, ...(n.webhookId !== null ? { webhookId: n.webhookId } : {}) });
      (r.status === 'created' ? created : present).push(n);
    }
  }
  return { created, present };
}

export interface RemoveResult {
  /** X's ids of the Activity API subscriptions deleted, or the user id unsubscribed (v2). */
  removed: string[];
}

/**
 * Removes the target's subscriptions (app bearer): for 'activity' those tagged for this interaction
 * and, with a webhook id, any of the needed event types of the account on that webhook; for 'v2'
 * the account's subscription to the webhook. Already gone is not an error.
 */
export async function removeSubscriptions(gw: SubscriptionGateway, t: SubscriptionTarget): Promise<RemoveResult> {
  const removed: string[] = [];
  if (t.api === 'v2') {
    if (t.webhookId !== null && (await gw.aaaUnsubscribe(t.webhookId, t.accountUserId)) === 'unsubscribed') removed.push(t.accountUserId);
    return { removed };
  }
  const tag = subscriptionTag(t.interactionId);
  const types = new Set(t.eventTypes ?? DM_EVENT_TYPES);
  const ours = (await gw.listActivitySubscriptions()).filter(
    (s) => s.tag === tag || (t.webhookId !== null && s.webhookId === t.webhookId && s.userId === t.accountUserId && types.has(s.eventType)),
  );
  for (const s of ours) if ((await gw.deleteActivitySubscription(s.id)) === 'deleted') removed.push(s.id);
  return { removed };
}

/**
 * The Activity API DM subscriptions of one interaction (dm.received + dm.sent, tag omni:<id>; plus
 * chat.received + chat.sent when `eventTypes` says so): on a webhook, or with `webhookId: null` for
 * the stream (`omni listen --stream`).
 */
export function ensureDmSubscriptions(gw: SubscriptionGateway, p: { interactionId: number; accountUserId: string; webhookId: string | null; eventTypes?: readonly string[] }, opts: { onStep?: (step: string) => void } = {}): Promise<EnsureResult> {
  return ensureSubscriptions(gw, { api: 'activity', ...p }, opts);
}
