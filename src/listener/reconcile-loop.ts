// The listener's reconciliation (docs/x-delivery.md): X's DM history of each v2/activity account read
// at start (after the replay request), after a stream reconnect or a webhook revalidation, and every
// --reconcile-every; each DM omni does not hold goes through the same group committer and writer as
// a delivery and is logged with the same per-event line (source "reconcile"). One run at a time in
// this process; across a fleet, the per-interaction lease in the database (src/db/reconcile.ts) lets
// one listener read an account while the others skip it. Cost-aware: src/reconcile/run.ts.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { intakeInteractionOf } from '../db/intake.js';
import { allResults, type StoredResults } from './delivery-results.js';
import { reconcileInteraction } from '../reconcile/account.js';
import { importedCount } from '../reconcile/run.js';
import type { XGateway } from '../twitter/gateway-v2.js';
import type { GroupCommitter } from './group-commit.js';
import type { WriteJob } from './intake-writer.js';
import type { ListenerLog } from './log.js';
import { hasActiveXChat } from '../xchat/conversations.js';
import type { XChatIntake } from './xchat-intake.js';

/** An interaction row as the loop reads it. */
export interface ReconcileTargetRow {
  id: number;
  name: string;
  account: string;
}

export interface ReconcileLoopOptions {
  db: Kysely<Database>;
  committer: GroupCommitter<WriteJob, StoredResults>;
  log: ListenerLog;
  /** Opens the gateway of an interaction (its user token); closed after each run. */
  openGateway: (interactionId: number) => Promise<XGateway>;
  /** 0: no periodic runs (start and event-driven runs still happen). */
  intervalMs: number;
  /** This listener, as the lease names it. */
  owner: string;
  clock?: () => Date;
  /** Runs wait for this first (the replay request on start). */
  after?: Promise<unknown>;
  /** The listener's X Chat receiver: interactions with an active X Chat identity also reconcile their conversations. */
  xchat?: XChatIntake;
}

export interface ReconcileLoop {
  /** Asks for a run (coalesced with one already waiting); `ids` limits it to those interactions. */
  trigger(reason: string, ids?: number[]): void;
  /** Settles when no run is in progress or waiting (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** The live v2/activity interactions authorized with OAuth 2.0 whose authorization is not lost, with their account. */
export async function reconcileTargets(db: Kysely<Database>): Promise<ReconcileTargetRow[]> {
  const rows = await db
    .selectFrom('interactions as i')
    .innerJoin('oauth_tokens as t', 't.interaction_id', 'i.id')
    .select(['i.id', 'i.name', 'i.account_user_id', 't.account_user_id as token_account'])
    .where('i.deleted_at', 'is', null)
    .where('i.api', 'in', ['v2', 'activity'])
    .where('t.lost_at', 'is', null)
    .orderBy('i.id')
    .execute();
  return rows.flatMap((r) => {
    const account = r.account_user_id ?? r.token_account;
    return account ? [{ id: r.id, name: r.name, account }] : [];
  });
}

export function startReconcileLoop(o: ReconcileLoopOptions): ReconcileLoop {
  const clock = o.clock ?? (() => new Date());
  const stopping = new AbortController();
  const gateways = new Set<XGateway>();
  let pending: { reasons: Set<string>; ids: Set<number> | 'all' } | undefined;
  let running: Promise<void> | undefined;

  const runOnce = async (reasons: string[], ids: Set<number> | 'all') => {
    const targets = await reconcileTargets(o.db);
    for (const t of targets) {
      if (stopping.signal.aborted) return;
      if (ids !== 'all' && !ids.has(t.id)) continue;
      let gateway: XGateway | undefined;
      try {
        gateway = await o.openGateway(t.id);
        gateways.add(gateway);
        const row = await o.db.selectFrom('interactions').selectAll().where('id', '=', t.id).executeTakeFirstOrThrow();
        const started = performance.now();
        const gw = gateway;
        const run = await reconcileInteraction({
          db: o.db,
          interaction: intakeInteractionOf({ ...row, account_user_id: t.account }),
          account: t.account,
          page: (p) => gw.dmEventsPage(p),
          submit: async (job) => {
            // Every result is read back (allResults): the reconcile counts them.
            const results = allResults(await o.committer.submit({ ...job, allResults: true }));
            o.log.delivery({ interaction: { id: t.id, name: t.name }, source: 'reconcile', status: 200, results, ms: performance.now() - started, remote: undefined });
            return results;
          },
          clock,
          owner: o.owner,
          ...(o.xchat && (await hasActiveXChat(o.db, t.id))
            ? { chat: { page: (conversationId: string, p: { maxResults: number; paginationToken?: string }) => gw.chatEventsPage(conversationId, p), receive: (envelope: unknown, r: { record: boolean }) => o.xchat!.receive({ id: t.id, name: t.name }, envelope, { source: 'reconcile', record: r.record }) } }
            : {}),
        });
        const fields = { interaction: t.id, reconcile: reasons.join(', ') };
        if (run.status === 'busy') o.log.info(`reconcile #${t.id} ${t.name}: skipped, ${run.detail}`, fields);
        else if (run.status === 'rate-limited') o.log.info(`reconcile #${t.id} ${t.name}: skipped, X's rate limit for the DM history is used up until ${run.until}`, fields);
        else {
          const r = run.result;
          const c = run.chat;
          const line = `reconcile #${t.id} ${t.name} (${reasons.join(', ')}): read ${r.read}${c ? ` + ${c.read} X Chat` : ''}, new ${run.imported}, already stored ${r.alreadyStored + (c?.alreadyStored ?? 0)}`;
          if (run.chatError) o.log.error(`reconcile #${t.id} ${t.name}: ${run.chatError}`, undefined, fields);
          const more = { ...fields, read: r.read, new: run.imported, alreadyStored: r.alreadyStored, pages: r.pages, ...(c ? { chatRead: c.read, chatNew: importedCount(c.imported), chatDeferred: c.deferred } : {}), billableReads: run.billableReads, stop: r.stop };
          if (run.imported > 0) o.log.warn(`${line}: X had not delivered ${run.imported === 1 ? 'this DM' : 'these DMs'}`, more);
          else o.log.info(line, more);
        }
      } catch (err) {
        if (stopping.signal.aborted) return;
        const e = err as { hint?: string };
        o.log.error(`reconcile #${t.id} ${t.name}: cannot read X's DM history`, err, { interaction: t.id, ...(e.hint ? { hint: e.hint } : {}) });
      } finally {
        if (gateway) {
          gateways.delete(gateway);
          gateway.close();
        }
      }
    }
  };

  const pump = async () => {
    await o.after?.catch(() => undefined);
    while (pending && !stopping.signal.aborted) {
      const { reasons, ids } = pending;
      pending = undefined;
      await runOnce([...reasons], ids);
    }
    running = undefined;
  };

  const trigger = (reason: string, ids?: number[]) => {
    if (stopping.signal.aborted) return;
    pending ??= { reasons: new Set(), ids: new Set() };
    pending.reasons.add(reason);
    if (ids === undefined) pending.ids = 'all';
    else if (pending.ids !== 'all') for (const id of ids) pending.ids.add(id);
    running ??= pump();
  };

  const timer = o.intervalMs > 0 ? setInterval(() => trigger('every interval'), o.intervalMs) : undefined;
  timer?.unref();
  trigger('start');

  return {
    trigger,
    idle: async () => {
      while (running) await running;
    },
    async stop() {
      stopping.abort();
      if (timer) clearInterval(timer);
      for (const g of gateways) g.close();
      await running;
    },
  };
}
