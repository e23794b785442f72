// Nothing lost while down: when `omni listen` starts and no listener of this database was alive for
// more than a minute, X may have tried (and given up) delivering DMs meanwhile. The listener asks X to
// replay them: one POST /2/webhooks/replay per webhook its v2/activity interactions use, from the last
// heartbeat minus a margin, capped at X's 24 hours. The replayed deliveries arrive like any other and
// the intake stores each DM once (dedup on the DM event id). X reports the end with a
// replay_job_status event; here the request is logged with its job id.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { REPLAY_HORIZON_MS, replayTargets, replayWindow, requestReplay, type ReplayJob } from '../replay/replay.js';
import type { SecretBox } from '../secrets.js';
import type { ListenerLog } from './log.js';

/** A gap longer than this (no heartbeat of any listener) asks for a replay. */
export const REPLAY_AFTER_GAP_MS = 60_000;
/** The replay starts this long before the last heartbeat: a beat is written every 20 s, and clocks drift. */
export const REPLAY_MARGIN_MS = 2 * 60_000;

export interface ReplayOnStartOptions {
  db: Kysely<Database>;
  box: SecretBox;
  /** When a listener of this database was last alive before this start (ISO), if ever. */
  lastAliveAt: string | undefined;
  log: ListenerLog;
  baseUrl: string;
  timeoutMs: number;
  clock?: () => Date;
  signal?: AbortSignal;
}

/** Where the replay starts, or why there is none. */
export function replayStart(lastAliveAt: string | undefined, now: Date): { since: Date; capped: boolean } | { skip: string } {
  if (lastAliveAt === undefined) return { skip: 'no listener ran on this database before' };
  const last = Date.parse(lastAliveAt);
  const gap = now.getTime() - last;
  if (!(gap > REPLAY_AFTER_GAP_MS)) return { skip: `a listener was alive ${Math.max(0, Math.round(gap / 1000))} s ago` };
  const since = last - REPLAY_MARGIN_MS;
  const horizon = now.getTime() - REPLAY_HORIZON_MS;
  return since < horizon ? { since: new Date(horizon), capped: true } : { since: new Date(since), capped: false };
}

/** Requests the replays (never throws: failures are logged with the command that retries them). */
export async function replayOnStart(o: ReplayOnStartOptions): Promise<ReplayJob[]> {
  const now = (o.clock ?? (() => new Date()))();
  const start = replayStart(o.lastAliveAt, now);
  if ('skip' in start) return [];
  const jobs: ReplayJob[] = [];
  try {
    const targets = await replayTargets(o.db, o.box);
    if (targets.length === 0) return [];
    if (start.capped) {
      o.log.warn(`replay: no listener was alive since ${o.lastAliveAt}; X replays only the last 24 hours, so deliveries before ${start.since.toISOString()} cannot be recovered by a replay`);
    }
    const window = replayWindow(start.since, now, now, { since: 'the last heartbeat', until: 'now' });
    for (const target of targets) {
      if (o.signal?.aborted) break;
      const ids = target.interactions.map((i) => i.id);
      try {
        const job = await requestReplay(target, window, { baseUrl: o.baseUrl, timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
        jobs.push(job);
        o.log.info(
          `replay requested: job ${job.jobId} for webhook ${job.webhookId} (interaction${ids.length > 1 ? 's' : ''} ${ids.join(', ')}), ${job.from.toISOString()} to ${job.to.toISOString()}: no listener was alive since ${o.lastAliveAt}`,
          { jobId: job.jobId, webhookId: job.webhookId, interactions: ids, from: job.from.toISOString(), to: job.to.toISOString(), lastAliveAt: o.lastAliveAt },
        );
      } catch (err) {
        if (o.signal?.aborted) break;
        o.log.error(
          `replay: cannot ask X to replay webhook ${target.webhookId} (interaction${ids.length > 1 ? 's' : ''} ${ids.join(', ')}): ${(err as Error).message} — retry: omni webhook replay ${ids[0]} --since ${window.from.toISOString()}`,
          undefined,
          { webhookId: target.webhookId, interactions: ids, hint: (err as { hint?: string }).hint },
        );
      }
    }
  } catch (err) {
    o.log.error(`replay: cannot plan the replay of the deliveries missed since ${o.lastAliveAt}: ${(err as Error).message}`, err);
  }
  return jobs;
}
