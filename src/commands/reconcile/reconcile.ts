// `omni reconcile <interaction>|--all [--since …] [--dry-run] [--json]`: reads X's DM history of each
// account and imports what omni does not hold through the one intake (the listener's writer, run
// inline here on this process's connection), or lists it (--dry-run).
import { serviceDeps, type Context } from '../../cli/context.js';
import { printJson, printTable, success, warn } from '../../cli/output.js';
import { parseDuration } from '../../cli/flags.js';
import { startSpinner } from '../../cli/spinner.js';
import { OmniError, UsageError } from '../../errors.js';
import { findInteraction, listInteractions, type InteractionView } from '../../db/interactions.js';
import { getOAuthToken } from '../../db/oauth-tokens.js';
import { intakeInteractionOf } from '../../db/intake.js';
import { DEFAULT_ANSWER_WINDOW_MS, DEFAULT_IDLE_MS } from '../../chatbot/conversation.js';
import { reconcileInteraction, type AccountRun } from '../../reconcile/account.js';
import { HISTORY_MS, importedCount, type HistoryJob } from '../../reconcile/run.js';
import { hasActiveXChat } from '../../xchat/conversations.js';
import type { XChatIntake } from '../../listener/xchat-intake.js';
import type { XGateway } from '../../twitter/gateway-v2.js';
import { costOf, usd } from '../../reconcile/prices.js';
import { openXGateway } from '../../webhooks/x-service.js';
import { parseWhen } from '../webhook/replay.js';
import { pricesFrom } from '../usage/prices.js';
import { terminalSafe } from '../../terminal-text.js';
import type { EventResult } from '../../intake/pipeline.js';

export interface ReconcileOptions {
  all?: boolean;
  since?: string;
  dryRun?: boolean;
  helperWindow?: string;
  json?: boolean;
}

type Target = { row: InteractionView; account: string };

export async function reconcileAction(ctx: Context, [ref]: [string | undefined], opts: ReconcileOptions): Promise<number> {
  if ((ref === undefined) === (opts.all !== true)) {
    throw new UsageError(ref === undefined ? 'name an interaction or pass --all' : 'name one interaction or pass --all, not both', 'omni reconcile 1, or omni reconcile --all');
  }
  const now = ctx.clock();
  const since = opts.since === undefined ? undefined : parseWhen(opts.since, '--since', now);
  if (since !== undefined && now.getTime() - since.getTime() > HISTORY_MS + 60_000) {
    throw new UsageError(`--since reaches back further than X's 30 days of DM history (${since.toISOString()})`, 'example: --since 30d, or a time within the last 30 days');
  }
  const windowMs = opts.helperWindow === undefined ? DEFAULT_ANSWER_WINDOW_MS : opts.helperWindow.trim() === '0' ? 0 : parseDuration(opts.helperWindow, '--helper-window', { minMs: 1_000, maxMs: 30 * 24 * 3_600_000 });
  const db = await ctx.db();
  const prices = pricesFrom(ctx.env);

  const targets: Target[] = [];
  const skipped: Array<{ id: number; name: string; reason: string }> = [];
  const rows = ref !== undefined ? [await findInteraction(db.kysely, ref)] : await listInteractions(db.kysely);
  for (const row of rows) {
    const why = await unreconcilable(ctx, row);
    if (typeof why === 'string') {
      if (ref !== undefined) throw new UsageError(`interaction ${row.id} '${row.name}' cannot be reconciled: ${why.split(': ')[0]}`, why.includes(': ') ? why.slice(why.indexOf(': ') + 2) : `omni interaction show ${row.id}`);
      skipped.push({ id: row.id, name: row.name, reason: why });
    } else targets.push({ row, account: why.account });
  }

  let submit: ((job: HistoryJob) => Promise<EventResult[]>) | undefined;
  if (!opts.dryRun && targets.length > 0) {
    // The listener's own writer for this engine: the same pipeline, the same transactions.
    const [{ inlineWriter, postgresWriter }, { tombstoneKey }] = await Promise.all([import('../../listener/intake-writer.js'), import('../../privacy/tombstone.js')]);
    const settings = { idleMs: DEFAULT_IDLE_MS, tombstoneKey: tombstoneKey(await ctx.secrets()), answerWindowMs: windowMs };
    const writer = db.engine === 'postgres' ? postgresWriter(db.pool, settings) : inlineWriter(db.sqlite, settings);
    submit = async (job) => {
      const [r] = await writer.write([job]);
      if (!r!.ok) throw r!.error;
      return r!.value;
    };
  }

  const reports: Array<Record<string, unknown>> = [];
  let failed = 0;
  for (const t of targets) {
    const label = `#${t.row.id} ${t.row.name}`;
    const spinner = startSpinner(ctx.io.stderr, `${label}: reading X's DM history`);
    let run: AccountRun;
    const gateway = await openXGateway(serviceDeps(ctx), t.row);
    // X Chat: the listener's own receiver (decrypt, verify, refusals recorded in webhook_events).
    const chat = (await hasActiveXChat(db.kysely, t.row.id)) ? await chatReceiver(ctx, db, t.row, gateway, opts.dryRun === true) : undefined;
    try {
      run = await reconcileInteraction({
        db: db.kysely,
        interaction: intakeInteractionOf({ ...t.row, account_user_id: t.account }),
        account: t.account,
        page: (p) => gateway.dmEventsPage(p),
        ...(submit ? { submit } : {}),
        clock: ctx.clock,
        owner: `omni reconcile (pid ${process.pid})`,
        ...(since ? { since } : {}),
        ...(chat ? { chat: { page: (conversationId: string, p: { maxResults: number; paginationToken?: string }) => gateway.chatEventsPage(conversationId, p), receive: (envelope: unknown, r: { record: boolean }) => chat.receive({ id: t.row.id, name: t.row.name }, envelope, { source: 'reconcile', record: r.record }) } } : {}),
        onProgress: (p) => spinner.update(`${label}: ${p.read} read from X's DM history, ${p.missing} missing (${p.pages} page${p.pages === 1 ? '' : 's'})`),
      });
    } catch (err) {
      spinner.stop();
      if (ref !== undefined) throw err;
      failed++;
      const e = err as { message?: string; hint?: string };
      warn(ctx, `${label}: ${e.message ?? String(err)}${e.hint ? ` (${e.hint})` : ''}`);
      reports.push({ interactionId: t.row.id, name: t.row.name, error: e.message ?? String(err) });
      continue;
    } finally {
      spinner.stop();
      await chat?.close();
      gateway.close();
    }
    if (run.status !== 'done') {
      const detail = run.status === 'busy' ? run.detail : `X's rate limit for the DM history is used up until ${run.until}`;
      if (ref !== undefined) throw new OmniError(`interaction ${t.row.id} '${t.row.name}': ${detail}`, { hint: 'run it again later' });
      failed++;
      warn(ctx, `${label}: ${detail}`);
      reports.push({ interactionId: t.row.id, name: t.row.name, error: detail });
      continue;
    }
    const r = run.result;
    const cost = costOf(prices, { read: run.billableReads });
    const report = {
      interactionId: t.row.id,
      name: t.row.name,
      dryRun: opts.dryRun === true,
      read: r.read,
      pages: r.pages,
      new: opts.dryRun ? r.missing.length + (run.chat?.missing.length ?? 0) : run.imported,
      alreadyStored: r.alreadyStored,
      skipped: r.skipped,
      stop: r.stop,
      ...(r.limitedUntil ? { rateLimitedUntil: r.limitedUntil.toISOString() } : {}),
      billableReads: run.billableReads,
      estimatedCost: Number(cost.toFixed(4)),
      missing: r.missing,
      ...(opts.dryRun ? {} : { results: r.imported }),
      ...(run.chat
        ? { xchat: { conversations: run.chat.conversations, read: run.chat.read, pages: run.chat.pages, new: opts.dryRun ? run.chat.missing.length : importedCount(run.chat.imported), alreadyStored: run.chat.alreadyStored, refused: run.chat.skipped, deferred: run.chat.deferred, missing: run.chat.missing, ...(opts.dryRun ? {} : { results: run.chat.imported }), ...(run.chat.limitedUntil ? { rateLimitedUntil: run.chat.limitedUntil.toISOString() } : {}) } }
        : {}),
      ...(run.chatError ? { xchatError: run.chatError } : {}),
    };
    reports.push(report);
    if (opts.json) continue;
    if (opts.dryRun && r.missing.length > 0) {
      ctx.out(`${label}: missing from omni:`);
      printTable(
        ctx,
        [
          { header: 'DM EVENT', value: (m) => m.id },
          { header: 'DIR', value: (m) => (m.direction === 'inbound' ? 'in' : 'out') },
          { header: 'FROM', value: (m) => m.senderId },
          { header: 'SENT', value: (m) => m.createdAt ?? '' },
          { header: 'TEXT', value: (m) => terminalSafe(m.text.length > 60 ? `${[...m.text].slice(0, 59).join('')}…` : m.text) },
        ],
        r.missing,
      );
    }
    if (opts.dryRun && run.chat && run.chat.missing.length > 0) {
      ctx.out(`${label}: X Chat messages missing from omni:`);
      printTable(
        ctx,
        [
          { header: 'MESSAGE', value: (m) => m.messageId },
          { header: 'DIR', value: (m) => (m.direction === 'inbound' ? 'in' : 'out') },
          { header: 'FROM', value: (m) => m.senderId },
          { header: 'SENT', value: (m) => m.createdAt },
          { header: 'TEXT', value: (m) => terminalSafe(m.text.length > 60 ? `${[...m.text].slice(0, 59).join('')}…` : m.text) },
        ],
        run.chat.missing,
      );
    }
    if (run.chatError) warn(ctx, `${label}: ${run.chatError}`);
    if (run.chat && run.chat.deferred > 0) warn(ctx, `${label}: ${run.chat.deferred} X Chat event(s) could not be checked now (X unreachable for keys); run it again`);
    const chatPart = run.chat ? ` (of which X Chat: read ${run.chat.read}, ${opts.dryRun ? 'missing' : 'new'} ${opts.dryRun ? run.chat.missing.length : importedCount(run.chat.imported)})` : '';
    const summary = `${label}: read ${r.read + (run.chat?.read ?? 0)}, ${opts.dryRun ? 'missing' : 'new'} ${report.new}, already stored ${r.alreadyStored + (run.chat?.alreadyStored ?? 0)}${chatPart}, estimated cost ${usd(cost)}`;
    const tail = [opts.dryRun ? 'dry run: nothing written' : '', r.stop === 'rate-limited' ? `stopped at X's rate limit (until ${r.limitedUntil?.toISOString()}); run it again then` : ''].filter(Boolean).join('; ');
    success(ctx, tail ? `${summary} (${tail})` : summary);
  }
  if (opts.json) {
    printJson(ctx, { interactions: reports, skipped, estimate: 'at X pay-per-use rates held by omni; X\'s developer console is authoritative' });
  } else {
    for (const s of skipped) warn(ctx, `#${s.id} ${s.name}: not reconciled: ${s.reason}`);
    if (targets.length === 0) warn(ctx, 'no interaction to reconcile: it needs --api v2 or activity and omni interaction authorize <id>');
  }
  return failed > 0 ? 1 : 0;
}

/** Why the interaction's history cannot be read ("what: fix"), or its account. */
async function unreconcilable(ctx: Context, row: InteractionView): Promise<string | { account: string }> {
  if (row.api === 'v1.1') return `it uses the retired premium v1.1 API, which has no DM history endpoint: omni interaction edit ${row.id} --api activity, then omni interaction authorize ${row.id}`;
  const token = await getOAuthToken((await ctx.db()).kysely, row.id);
  if (!token) return `it is not authorized with X OAuth 2.0 (the DM history needs the account's token): omni interaction authorize ${row.id}`;
  if (token.lost_at !== null) return `its X authorization is lost since ${token.lost_at}: omni interaction authorize ${row.id}`;
  const account = row.account_user_id ?? token.account_user_id;
  if (!account) return `its account is not known: omni interaction authorize ${row.id}`;
  return { account };
}

/** The listener's X Chat receiver for one run: refusals go to webhook_events as the listener records them (not in a dry run). */
async function chatReceiver(ctx: Context, db: Awaited<ReturnType<Context['db']>>, row: InteractionView, gateway: XGateway, dryRun: boolean): Promise<{ receive: XChatIntake['receive']; close(): Promise<void> }> {
  const [{ createXChatIntake }, { Registry }, { createWebhookEventWriter, writeWebhookEvents }] = await Promise.all([import('../../listener/xchat-intake.js'), import('../../listener/prometheus.js'), import('../../db/webhook-events.js')]);
  const say = (message: string) => warn(ctx, `#${row.id} ${row.name}: ${message}`);
  // SQLite: at once, on the handle (never inside a transaction spanning awaits, which the intake
  // writer on the same handle would join). PostgreSQL: in order, one after the other; close() waits for the last.
  const writeNow = !dryRun && db.engine === 'sqlite' ? createWebhookEventWriter(db.sqlite) : undefined;
  let recorded: Promise<void> = Promise.resolve();
  const intake = createXChatIntake({
    db: db.kysely,
    box: await ctx.secrets(),
    api: async () => gateway,
    record: (e) => {
      if (writeNow) writeNow([e]);
      else if (!dryRun) recorded = recorded.then(() => writeWebhookEvents(db.kysely, [e])).catch((err: unknown) => say(`the refusal could not be recorded: ${(err as Error).message}`));
      say(`X Chat event refused (${e.result}): ${e.detail ?? ''}`);
    },
    registry: new Registry(),
    log: { listening: () => undefined, delivery: () => undefined, crc: () => undefined, info: () => undefined, warn: (m) => say(m), error: (m) => say(m) },
    clock: ctx.clock,
  });
  return {
    receive: (...args) => intake.receive(...args),
    close: async () => {
      intake.close();
      await recorded;
    },
  };
}
