// Recovering deliveries missed while nothing answered the webhook: POST /2/webhooks/replay asks X to
// re-send what it attempted to deliver to one webhook in a window of the last 24 hours (then a
// replay_job_status event). Several interactions of one app share its webhook, so a replay is per
// webhook, never per interaction. Replayed events go through the one intake pipeline, whose dedup on
// the DM event id stores each DM once. Used by `omni webhook replay` and by `omni listen` on start.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { OmniError, UsageError } from '../errors.js';
import type { SecretBox } from '../secrets.js';
import { createXGateway, replayDate } from '../twitter/gateway-v2.js';

/** X replays the last 24 hours only. */
export const REPLAY_HORIZON_MS = 24 * 3_600_000;
const MINUTE = 60_000;

const floorMinute = (t: number) => Math.floor(t / MINUTE) * MINUTE;
const ceilMinute = (t: number) => Math.ceil(t / MINUTE) * MINUTE;

export interface ReplayWindow {
  from: Date;
  to: Date;
}

/**
 * The window X is asked for, in whole minutes (its format is yyyymmddhhmm UTC): from the minute of
 * `since` (the first minute inside the 24 hours when `since` is less than a minute past them) to the
 * end of the minute of `until`, at least one minute. Refuses what X would refuse, with the reason.
 */
export function replayWindow(since: Date, until: Date, now: Date, names: { since: string; until: string } = { since: '--since', until: '--until' }): ReplayWindow {
  const horizon = now.getTime() - REPLAY_HORIZON_MS;
  if (since.getTime() < horizon - MINUTE) {
    throw new UsageError(
      `${names.since} ${since.toISOString()} is more than 24 hours ago: X replays only the deliveries of the last 24 hours`,
      `use ${names.since} 24h or later; what is older cannot be replayed by X`,
    );
  }
  if (until.getTime() > now.getTime() + MINUTE) throw new UsageError(`${names.until} ${until.toISOString()} is in the future`, `leave ${names.until} out to replay up to now`);
  if (until.getTime() <= since.getTime()) throw new UsageError(`${names.until} ${until.toISOString()} is not after ${names.since} ${since.toISOString()}`, `example: ${names.since} 2h ${names.until} 1h`);
  let from = floorMinute(since.getTime());
  if (from < horizon) from = ceilMinute(horizon);
  let to = Math.min(ceilMinute(until.getTime()), ceilMinute(now.getTime()));
  if (to <= from) to = from + MINUTE;
  return { from: new Date(from), to: new Date(to) };
}

/** One webhook to replay and the interactions whose deliveries it carries. */
export interface ReplayTarget {
  webhookId: string;
  interactions: Array<{ id: number; name: string; api: string }>;
  /** The app's API key and secret (app-only bearer), from the first of those interactions. */
  app: { apiKey: string; apiSecretKey: string };
}

/**
 * The webhooks of the live interactions on X's API of 2026 (v2, activity) that have one registered,
 * one entry per webhook; `only`: the webhooks of these interactions.
 */
export async function replayTargets(db: Kysely<Database>, box: SecretBox, only?: number[]): Promise<ReplayTarget[]> {
  let q = db
    .selectFrom('interactions')
    .select(['id', 'name', 'api', 'webhook_id', 'api_key_enc', 'api_secret_key_enc'])
    .where('deleted_at', 'is', null)
    .where('api', 'in', ['v2', 'activity'])
    .where('webhook_id', 'is not', null)
    .orderBy('id');
  if (only) {
    const hooks = await db.selectFrom('interactions').select('webhook_id').where('id', 'in', only.length ? only : [-1]).where('webhook_id', 'is not', null).execute();
    q = q.where('webhook_id', 'in', hooks.length ? hooks.map((h) => h.webhook_id!) : ['']);
  }
  const byHook = new Map<string, ReplayTarget>();
  for (const r of await q.execute()) {
    const hit = byHook.get(r.webhook_id!);
    if (hit) {
      hit.interactions.push({ id: r.id, name: r.name, api: r.api });
      continue;
    }
    let app: ReplayTarget['app'];
    try {
      app = { apiKey: box.decrypt(r.api_key_enc, 'api_key_enc'), apiSecretKey: box.decrypt(r.api_secret_key_enc, 'api_secret_key_enc') };
    } catch (err) {
      throw new OmniError(`cannot read the API key of interaction ${r.id}: ${(err as Error).message}`, { hint: (err as { hint?: string }).hint ?? 'check OMNI_SECRET_KEY or the key file beside the database', cause: err });
    }
    byHook.set(r.webhook_id!, { webhookId: r.webhook_id!, interactions: [{ id: r.id, name: r.name, api: r.api }], app });
  }
  return [...byHook.values()];
}

export interface ReplayJob {
  webhookId: string;
  jobId: string;
  createdAt: string | null;
  from: Date;
  to: Date;
  /** yyyymmddhhmm UTC, as sent. */
  fromDate: string;
  toDate: string;
}

/** Asks X to replay one webhook's deliveries in `window` (app-only bearer). */
export async function requestReplay(target: ReplayTarget, window: ReplayWindow, o: { baseUrl: string; timeoutMs: number; signal?: AbortSignal }): Promise<ReplayJob> {
  const first = target.interactions[0]!;
  const gateway = createXGateway({ baseUrl: o.baseUrl, timeoutMs: o.timeoutMs, app: target.app, editCommand: `omni interaction edit ${first.id}` });
  const abort = () => gateway.close();
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    const job = await gateway.replay(target.webhookId, window.from, window.to);
    return { webhookId: target.webhookId, jobId: job.jobId, createdAt: job.createdAt, from: window.from, to: window.to, fromDate: replayDate(window.from), toDate: replayDate(window.to) };
  } finally {
    o.signal?.removeEventListener('abort', abort);
    gateway.close();
  }
}
