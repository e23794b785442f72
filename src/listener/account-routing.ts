// Which interaction a delivery belongs to when several share one X webhook. X allows one webhook per
// app (pay-per-use), so the interactions (accounts) of one app share its /2/webhooks id, and X posts
// every account's events to the one URL, which names one interaction's path. Each event goes to the
// interaction of its account (for_user_id, or the XAA filter.user_id) among the live v2/activity
// interactions on that webhook holding the same consumer secret (the one that verified the
// signature). A delivery for an account none of them owns is not stored anywhere.
//
// On the hot path: the account → interaction map of each webhook is cached (one query per webhook,
// refreshed after maxAgeMs, or at most every missRefreshMs on a miss, two owners or a stale entry),
// and the chosen interaction is then read by primary key like the path's own, so a deleted or
// edited interaction is never served from the cache. On PostgreSQL the reads are promises, and so is
// a route that needs them (the common cases, the path's own account or none, stay synchronous). A second owner of an account that is still
// served by its first is noticed when the map is next read (maxAgeMs).
import type { IntakeInteractionRow, WebhookAccount } from '../db/intake.js';
import type { MaybePromise } from '../db/listener-reads.js';

export type AccountRoute =
  /** The path's interaction takes it (its account, no account named, or the path's account is not known yet). */
  | { kind: 'own' }
  /** Another interaction on the same webhook owns the account. */
  | { kind: 'routed'; row: IntakeInteractionRow }
  /** No interaction may take it: answered 200, recorded as rejected with `reason`, stored nowhere. */
  | { kind: 'unowned'; reason: string };

export interface AccountRouter {
  /** Where a verified v2/activity delivery for `account` (null: it names none) that arrived on `row`'s URL goes. */
  route(row: IntakeInteractionRow, account: string | null): MaybePromise<AccountRoute>;
}

export interface AccountRouterOptions {
  /** The live v2/activity interactions on a webhook and their accounts (IntakeStore.webhookAccounts). */
  accounts(webhookId: string): MaybePromise<WebhookAccount[]>;
  /** A live interaction by id (ListenerReads.interaction). */
  interaction(id: number): MaybePromise<IntakeInteractionRow | undefined>;
  /** The interaction's consumer secret (cached; the listener's apiSecret). */
  secretOf(row: IntakeInteractionRow): string;
  now?: () => number;
  /** A webhook's map is read again after this long (default 60 s). */
  maxAgeMs?: number;
  /** On a miss or a stale entry, the map is read again at most this often (default 1 s): a flood of unowned accounts costs one query a second. */
  missRefreshMs?: number;
}

const AMBIGUOUS = -1;

interface Entry {
  at: number;
  /** account → interaction id, or AMBIGUOUS when two interactions claim it. */
  byAccount: Map<string, number>;
  /** The ids claiming each ambiguous account, for the reason. */
  claims: Map<string, number[]>;
}

export function createAccountRouter(o: AccountRouterOptions): AccountRouter {
  const now = o.now ?? Date.now;
  const maxAgeMs = o.maxAgeMs ?? 60_000;
  const missRefreshMs = o.missRefreshMs ?? 1_000;
  const cache = new Map<string, Entry>();

  const load = async (webhookId: string): Promise<Entry> => {
    const entry: Entry = { at: now(), byAccount: new Map(), claims: new Map() };
    for (const { id, account } of await o.accounts(webhookId)) {
      if (account === null) continue;
      const ids = [...(entry.claims.get(account) ?? []), id];
      entry.claims.set(account, ids);
      entry.byAccount.set(account, ids.length > 1 ? AMBIGUOUS : id);
    }
    for (const [account, ids] of [...entry.claims]) if (ids.length < 2) entry.claims.delete(account);
    cache.set(webhookId, entry);
    return entry;
  };

  const entryOf = async (webhookId: string): Promise<Entry> => {
    const hit = cache.get(webhookId);
    return hit && now() - hit.at < maxAgeMs ? hit : load(webhookId);
  };

  /** The owner of `account` on the webhook, checked against its live row; reloads once when the cache is stale. */
  const owner = async (webhookId: string, account: string): Promise<{ row: IntakeInteractionRow } | { ambiguous: number[] } | undefined> => {
    let entry = await entryOf(webhookId);
    for (let attempt = 0; ; attempt++) {
      const id = entry.byAccount.get(account);
      if (id !== undefined && id !== AMBIGUOUS) {
        const row = await o.interaction(id);
        if (row && row.webhook_id === webhookId && row.api !== 'v1.1' && row.account_user_id === account) return { row };
      }
      // A miss, two owners, or the cached owner changed: read the map again, unless it was read just now.
      if (attempt > 0 || now() - entry.at < missRefreshMs) return id === AMBIGUOUS ? { ambiguous: entry.claims.get(account) ?? [] } : undefined;
      entry = await load(webhookId);
    }
  };

  return {
    route(row, account) {
      if (account === null || account === row.account_user_id) return { kind: 'own' };
      if (row.webhook_id === null) {
        // Not registered by omni: its account (if known) is all there is to compare with.
        if (row.account_user_id === null) return { kind: 'own' };
        return { kind: 'unowned', reason: `account ${account} is not interaction #${row.id}'s (${row.account_user_id}), and no X webhook id is recorded for it to find the interaction that owns it (omni webhook register ${row.id})` };
      }
      return routeShared(row, row.webhook_id, account);
    },
  };

  /** The owner of `account` among the interactions on the webhook (reads the map and the owner's live row). */
  async function routeShared(row: IntakeInteractionRow, webhookId: string, account: string): Promise<AccountRoute> {
    const named = `interaction #${row.id}'s URL`;
    const found = await owner(webhookId, account);
    if (found === undefined) {
      // The path's own account not known yet: take it, as before shared webhooks (the caller warns).
      if (row.account_user_id === null) return { kind: 'own' };
      return { kind: 'unowned', reason: `no interaction on webhook ${row.webhook_id} owns account ${account} (delivered to ${named}): not stored; authorize that account on an interaction of this app (omni interaction authorize <id>)` };
    }
    if ('ambiguous' in found) {
      return { kind: 'unowned', reason: `interactions ${found.ambiguous.map((id) => `#${id}`).join(' and ')} on webhook ${row.webhook_id} all own account ${account}: not stored; delete or re-authorize all but one` };
    }
    if (o.secretOf(found.row) !== o.secretOf(row)) {
      return { kind: 'unowned', reason: `interaction #${found.row.id} owns account ${account} but holds another API secret than #${row.id}, whose secret signed this delivery: not stored; give both the same app's keys (omni interaction edit ${found.row.id})` };
    }
    return { kind: 'routed', row: found.row };
  }
}
