// The chatbot worker inside `omni listen`: takes the jobs the intake queued for the external Helper
// bot, calls it OUTSIDE any transaction (the intake must stay fast and answer Twitter within 3 s),
// then records the answer in one short transaction (recordExternalAnswer). Jobs of one conversation run
// one at a time, in order, so the bot sees the requester's messages as they were sent.
import type { ChatbotJob } from '../db/chatbot.js';
import type { Db } from '../db/connection.js';
import { op, type Step } from '../db/step.js';
import { createStepRunner, helperJobClaim } from '../db/step-runner.js';
import type { IntakeInteraction } from '../db/intake.js';
import { startPoller, type Poller } from '../outbox/poller.js';
import type { WorkerLog } from '../outbox/worker.js';
import { externalAnswerStep, chatbotSettings, type ChatbotSettings } from './conversation.js';
import { callExternalBot, DEFAULT_EXTERNAL_TIMEOUT_MS, type ExternalCall } from './external.js';

export interface ChatbotWorkerOptions {
  /** SQLite (claims under the write lock) or PostgreSQL (claims with FOR UPDATE SKIP LOCKED over the pool). */
  db: Db;
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
  const steps = createStepRunner(opts.db);
  const claimJob = helperJobClaim(opts.db);
  const clock = opts.clock ?? (() => new Date());
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXTERNAL_TIMEOUT_MS;
  // A claim outlives the call it covers by a wide margin; a crashed worker's job is due again after it.
  const leaseMs = opts.leaseMs ?? Math.max(30_000, timeoutMs * 3);

  return startPoller({
    intervalMs: opts.pollMs ?? 500,
    concurrency: opts.concurrency ?? 4,
    claim: () => {
      const t = clock();
      return claimJob(t.toISOString(), new Date(t.getTime() + leaseMs).toISOString());
    },
    work: async (job) => {
      const { interaction, settings } = await steps.read(() => helperOf(job));
      let call: ExternalCall;
      if (job.conversation_status !== 'active' || !interaction) {
        call = { ok: false, reason: 'not called: the conversation ended', ms: 0 }; // recordExternalAnswer skips it
      } else if (!settings?.externalUrl) {
        // 441 was cleared or interception switched off after the DM arrived: answer with the fallback.
        call = { ok: false, reason: 'no external Helper is configured any more (parameter 441 or 450 changed)', ms: 0 };
      } else {
        call = await callExternalBot(settings.externalUrl, { sender: job.requester_twitter_id, message: job.payload ?? job.text }, { timeoutMs, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
      }
      // The answer, the DMs it queues and a hand-off: one transaction, fenced by the claim's attempt.
      const outcome = await steps.transaction(() => externalAnswerStep(job, call, clock().toISOString()));
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
    onRecovered: () => opts.log.info('helper worker: the database answers again'),
  });
}

/** The job's interaction and its Helper settings, read before the call (outside any transaction). */
function* helperOf(job: ChatbotJob): Step<{ interaction: IntakeInteraction | undefined; settings: ChatbotSettings | undefined }> {
  const interaction = yield* op('intake', 'interaction', job.interaction_id);
  return { interaction, settings: interaction ? chatbotSettings(interaction, yield* op('chatbot', 'parameters')) : undefined };
}
