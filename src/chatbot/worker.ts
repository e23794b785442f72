// The chatbot worker inside `omni listen`: takes the jobs the intake queued for the external Helper
// bot, calls it OUTSIDE any transaction (the intake must stay fast and answer Twitter within 3 s),
// then records the answer in one short transaction (recordExternalAnswer). Jobs of one conversation run
// one at a time, in order, so the bot sees the requester's messages as they were sent.
import type BetterSqlite3 from 'better-sqlite3';
import { createChatbotStore } from '../db/chatbot.js';
import { createIntakeStore } from '../db/intake.js';
import { createOutboxStore } from '../db/outbox.js';
import { RETRYABLE_WRITE_BUSY_MS, withBusyTimeout } from '../db/pragmas.js';
import { startPoller, type Poller } from '../outbox/poller.js';
import type { WorkerLog } from '../outbox/worker.js';
import { recordExternalAnswer, chatbotSettings, type ChatbotStores } from './conversation.js';
import { callExternalBot, DEFAULT_EXTERNAL_TIMEOUT_MS, type ExternalCall } from './external.js';

export interface ChatbotWorkerOptions {
  sqlite: BetterSqlite3.Database;
  log: WorkerLog;
  clock?: () => Date;
  /** The external Helper's time limit (the issue: 5 s). */
  timeoutMs?: number;
  pollMs?: number;
  leaseMs?: number;
  concurrency?: number;
  fetch?: typeof fetch;
  /** Called after answers were queued, so the outbox worker sends them without waiting for its poll. */
  onQueued?: () => void;
}

export function startChatbotWorker(opts: ChatbotWorkerOptions): Poller {
  const stores: ChatbotStores = { intake: createIntakeStore(opts.sqlite), chatbot: createChatbotStore(opts.sqlite), outbox: createOutboxStore(opts.sqlite) };
  const clock = opts.clock ?? (() => new Date());
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXTERNAL_TIMEOUT_MS;
  // A claim outlives the call it covers by a wide margin; a crashed worker's job is due again after it.
  const leaseMs = opts.leaseMs ?? Math.max(30_000, timeoutMs * 3);
  const record = opts.sqlite.transaction((job: Parameters<typeof recordExternalAnswer>[1], call: ExternalCall) => recordExternalAnswer(stores, job, call, clock().toISOString()));

  return startPoller({
    intervalMs: opts.pollMs ?? 500,
    concurrency: opts.concurrency ?? 4,
    // A claim that cannot get the lock at once is tried again at the next poll.
    claim: () => {
      const t = clock();
      return withBusyTimeout(opts.sqlite, RETRYABLE_WRITE_BUSY_MS, () => stores.chatbot.claimJob(t.toISOString(), new Date(t.getTime() + leaseMs).toISOString()));
    },
    work: async (job) => {
      const interaction = stores.intake.interaction(job.interaction_id);
      const settings = interaction ? chatbotSettings(interaction, stores.chatbot.parameters()) : undefined;
      let call: ExternalCall;
      if (job.conversation_status !== 'active' || !interaction) {
        call = { ok: false, reason: 'not called: the conversation ended', ms: 0 }; // recordExternalAnswer skips it
      } else if (!settings?.externalUrl) {
        // 441 was cleared or interception switched off after the DM arrived: answer with the fallback.
        call = { ok: false, reason: 'no external Helper is configured any more (parameter 441 or 450 changed)', ms: 0 };
      } else {
        call = await callExternalBot(settings.externalUrl, { sender: job.requester_twitter_id, message: job.payload ?? job.text }, { timeoutMs, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
      }
      const outcome = record.immediate(job, call);
      const fields = { job: job.id, conversation: job.conversation_id, interaction: job.interaction_id, requester: job.requester_twitter_id, ms: call.ms };
      if (!outcome) {
        opts.log.warn(`helper job #${job.id}: the claim expired during the call; another attempt owns it now`, fields);
        return;
      }
      switch (outcome.kind) {
        case 'answered':
          opts.log.info(`helper job #${job.id}: the Helper answered ${outcome.messages} message(s)`, fields);
          break;
        case 'ticket':
          opts.log.info(`helper job #${job.id}: the Helper handed off: ticket #${outcome.ticketId}`, { ...fields, ticket: outcome.ticketId });
          break;
        case 'fallback':
          opts.log.warn(`helper job #${job.id}: the Helper failed (${outcome.reason}); sent the fallback`, { ...fields, reason: outcome.reason });
          break;
        case 'skipped':
          opts.log.info(`helper job #${job.id}: skipped (${outcome.reason})`, fields);
          break;
      }
      if (outcome.kind !== 'skipped') opts.onQueued?.();
    },
    onError: (err) => opts.log.error('helper worker', err),
  });
}
