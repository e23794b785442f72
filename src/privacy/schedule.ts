// What `omni listen` does about retention: every hour (and once shortly after start) it reads
// messages.retention and, when a window is set, redacts what is due (src/privacy/retention.ts). Off
// by default, and then a run is one small read. Each run opens its own connection, so the redaction
// (secure_delete, its transaction, the WAL truncation) never shares the listener's. Once per fleet:
// a timed run first stamps fleet_jobs (src/db/fleet.ts) and is skipped when another listener of the
// database ran retention within the interval.
import os from 'node:os';
import type { Db } from '../db/connection.js';
import { claimFleetRun } from '../db/fleet.js';
import { runRetention, type RetentionReport } from './retention.js';

export const RETENTION_INTERVAL_MS = 3_600_000;
const FIRST_RUN_AFTER_MS = 5_000;

export interface RetentionLog {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, err?: unknown, fields?: Record<string, unknown>): void;
}

export interface RetentionSchedule {
  /** Runs once now, whatever the other listeners did (tests; the timer runs it once per fleet). */
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
  /** Who stamps fleet_jobs (default "<host>:<pid>"). */
  owner?: string;
}): RetentionSchedule {
  const intervalMs = opts.intervalMs ?? RETENTION_INTERVAL_MS;
  const owner = opts.owner ?? `${os.hostname()}:${process.pid}`;
  let running: Promise<RetentionReport | undefined> | undefined;
  let stopped = false;
  const run = (gated: boolean) => {
    running ??= (async () => {
      const db = await opts.open();
      try {
        const now = (opts.now ?? (() => new Date()))();
        if (gated && !(await claimFleetRun(db, 'retention', { intervalMs, owner, now }))) return undefined;
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
  const runOnce = () => run(false);
  const tick = () => {
    if (stopped) return;
    run(true).catch((err) => opts.log.error('retention run failed (tried again at the next hour)', err));
  };
  const first = setTimeout(tick, opts.firstRunAfterMs ?? FIRST_RUN_AFTER_MS);
  const every = setInterval(tick, intervalMs);
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
