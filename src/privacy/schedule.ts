// What `omni listen` does about retention: every hour (and once shortly after start) it reads
// messages.retention and, when a window is set, redacts what is due (src/privacy/retention.ts). Off
// by default, and then a run is one small read. Each run opens its own connection, so the redaction
// (secure_delete, its transaction, the WAL truncation) never shares the listener's.
import type { Db } from '../db/connection.js';
import { runRetention, type RetentionReport } from './retention.js';

export const RETENTION_INTERVAL_MS = 3_600_000;
const FIRST_RUN_AFTER_MS = 5_000;

export interface RetentionLog {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, err?: unknown, fields?: Record<string, unknown>): void;
}

export interface RetentionSchedule {
  /** Runs once now (tests; the timer calls it too). */
  runOnce(): Promise<RetentionReport | undefined>;
  stop(): Promise<void>;
}

export function startRetentionSchedule(opts: {
  open: () => Promise<Db>;
  log: RetentionLog;
  now?: () => Date;
  actor: string;
  intervalMs?: number;
  firstRunAfterMs?: number;
}): RetentionSchedule {
  let running: Promise<RetentionReport | undefined> | undefined;
  let stopped = false;
  const runOnce = () => {
    running ??= (async () => {
      const db = await opts.open();
      try {
        const report = await runRetention(db.kysely, { now: (opts.now ?? (() => new Date()))(), dryRun: false, actor: opts.actor });
        if (report && report.tickets.length > 0) {
          opts.log.info(`retention: redacted ${report.messages} messages of ${report.tickets.length} tickets closed before ${report.cutoff}`, {
            window: report.window,
            tickets: report.tickets.length,
            messages: report.messages,
          });
        }
        return report;
      } finally {
        await db.close();
      }
    })().finally(() => (running = undefined));
    return running;
  };
  const tick = () => {
    if (stopped) return;
    runOnce().catch((err) => opts.log.error('retention run failed (tried again at the next hour)', err));
  };
  const first = setTimeout(tick, opts.firstRunAfterMs ?? FIRST_RUN_AFTER_MS);
  const every = setInterval(tick, opts.intervalMs ?? RETENTION_INTERVAL_MS);
  first.unref();
  every.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
      await running?.catch(() => undefined);
    },
  };
}
