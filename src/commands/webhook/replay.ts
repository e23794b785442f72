// `omni webhook replay <interaction> --since <duration|time> [--until …]`: asks X to re-send the
// deliveries it attempted to the interaction's webhook in that window (the last 24 hours only), for
// DMs missed while omni listen was down or unreachable. Prints the job id; X reports the end with a
// replay_job_status event to the webhook, and omni listen stores each replayed DM once.
import type { Context } from '../../cli/context.js';
import { printJson, success, warn } from '../../cli/output.js';
import { parseDuration } from '../../cli/flags.js';
import { UsageError } from '../../errors.js';
import { replayTargets, replayWindow, requestReplay } from '../../replay/replay.js';
import { apiBaseUrl, apiTimeoutMs } from '../../twitter/gateway.js';
import { load, withSpinner } from './shared.js';

export interface ReplayOptions {
  since: string;
  until?: string;
  json?: boolean;
}

/** A duration back from now (30m, 2h, 90s) or an ISO-8601 time (UTC unless it names an offset). */
export function parseWhen(value: string, flag: string, now: Date): Date {
  const v = value.trim();
  if (/^\d+(ms|s|m|h)$/.test(v)) return new Date(now.getTime() - parseDuration(v, flag, { minMs: 0, maxMs: 3_650 * 24 * 3_600_000 }));
  if (/^\d+d$/.test(v)) return new Date(now.getTime() - Number(v.slice(0, -1)) * 24 * 3_600_000);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(v)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(v) || !/[T ]/.test(v) ? v : `${v}Z`;
    const t = Date.parse(zoned.replace(' ', 'T'));
    if (Number.isFinite(t)) return new Date(t);
  }
  throw new UsageError(`${flag} must be a duration back from now (30m, 2h) or an ISO-8601 time (2026-12-01T08:00Z), not '${value}'`, `example: ${flag} 2h`);
}

export async function replayAction(ctx: Context, [ref]: [string], opts: ReplayOptions): Promise<number> {
  const now = ctx.clock();
  const since = parseWhen(opts.since, '--since', now);
  const until = opts.until === undefined ? now : parseWhen(opts.until, '--until', now);
  const row = await load(ctx, ref);
  if (row.api === 'v1.1') {
    throw new UsageError(
      `interaction ${row.id} '${row.name}' uses the premium v1.1 API, whose replay X has retired: replay works on X's API of 2026 only`,
      `move it to the current API: omni interaction edit ${row.id} --api activity, then omni interaction authorize ${row.id} and omni webhook register ${row.id}`,
    );
  }
  if (row.webhook_id === null) {
    throw new UsageError(`interaction ${row.id} '${row.name}' has no webhook registered with X, so X has nothing to replay for it`, `register it: omni webhook register ${row.id}`);
  }
  // Refused before calling X: X replays the last 24 hours only.
  const window = replayWindow(since, until, now);
  const [target] = await replayTargets((await ctx.db()).kysely, await ctx.secrets(), [row.id]);
  if (!target) throw new UsageError(`interaction ${row.id} '${row.name}' has no webhook to replay`, `register it: omni webhook register ${row.id}`);
  const job = await withSpinner(ctx, `asking X to replay webhook ${target.webhookId}`, () => requestReplay(target, window, { baseUrl: apiBaseUrl(ctx.env), timeoutMs: apiTimeoutMs(ctx.env) }));
  const others = target.interactions.filter((i) => i.id !== row.id);
  if (opts.json) {
    printJson(ctx, {
      interactionId: row.id,
      webhookId: job.webhookId,
      jobId: job.jobId,
      createdAt: job.createdAt,
      from: job.from.toISOString(),
      to: job.to.toISOString(),
      fromDate: job.fromDate,
      toDate: job.toDate,
      interactions: target.interactions.map((i) => i.id),
    });
  } else {
    ctx.out(job.jobId);
  }
  success(ctx, `replay requested: job ${job.jobId} for webhook ${job.webhookId}, ${job.from.toISOString()} to ${job.to.toISOString()}`);
  if (others.length > 0) warn(ctx, `the webhook is shared: the replay re-sends the deliveries of interaction${others.length > 1 ? 's' : ''} ${others.map((i) => `${i.id} '${i.name}'`).join(', ')} too (each DM is still stored once)`);
  ctx.err('X re-sends what it attempted to deliver in that window to omni listen, then a replay_job_status event; DMs already stored are not stored again.');
  return 0;
}
