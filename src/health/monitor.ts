// The listener's health monitor: every interval (and after each watchdog check) it judges every
// interaction (src/health/read.ts) and records each entering and leaving of an unhealthy state as a
// row of health_transitions. The row's unique key (interaction, state, episode, edge) decides which
// of several listeners on one database records a transition: only that one logs it, and the row is
// the notification, sent by whichever listener with --notify URLs claims it first (retried with
// backoff, in the background: intake never waits for it).
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { claimTransition, dueTransitions, insertTransition, latestTransitions, markTransitionFailed, markTransitionSent, type Transition } from '../db/health.js';
import { formatSeconds, STATE_WORDS, UNHEALTHY_STATES, type InteractionHealth, type Problem, type UnhealthyState } from './model.js';
import { readHealth } from './read.js';
import { postNotification, maskUrl } from './notify.js';

export interface HealthLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, err?: unknown, fields?: Record<string, unknown>): void;
}

export interface HealthMonitorOptions {
  db: Kysely<Database>;
  log: HealthLog;
  intervalMs: number;
  /** Where transitions are POSTed; empty: recorded (omni status shows them), sent by another listener or nobody. */
  notifyUrls: string[];
  clock?: () => Date;
  /** Per POST. */
  notifyTimeoutMs?: number;
  /** Retry delays after a failed POST; after the last, the notification is given up (logged). */
  retryDelaysMs?: number[];
}

export interface HealthMonitor {
  /** The last judgement (undefined before the first): /metrics and /healthz?verbose. */
  current(): InteractionHealth[] | undefined;
  /** Judge now; `seen` adds problems observed in passing (a subscription found missing, then created again). */
  evaluate(seen?: Array<{ interactionId: number; problem: Problem }>): Promise<void>;
  /** Silences observed (entered) by this process, for the metric. */
  silencesEntered(): number;
  stop(): Promise<void>;
}

export const DEFAULT_RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000, 600_000, 1_800_000];
/** Notifications older than this are not sent any more (a listener started days later does not page for old news). */
const NOTIFY_MAX_AGE_MS = 24 * 3_600_000;

export function startHealthMonitor(o: HealthMonitorOptions): HealthMonitor {
  const clock = o.clock ?? (() => new Date());
  const retry = o.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  let stopped = false;
  let last: InteractionHealth[] | undefined;
  let silences = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let sending: Promise<void> | undefined;
  /** URLs that already took a transition, when another of its URLs failed (no repeat on retry). */
  const delivered = new Map<number, Set<string>>();

  const judge = async (seen: Array<{ interactionId: number; problem: Problem }>) => {
    // Transitions first, then the state: a view of the transitions older than the state cannot
    // make this listener record an entering another one has already ended.
    const latest = new Map((await latestTransitions(o.db)).map((t) => [`${t.interaction_id}|${t.state}`, t]));
    const now = clock();
    const healths = await readHealth(o.db, now);
    last = healths;
    for (const h of healths) {
      const problems = [...h.problems, ...seen.filter((s) => s.interactionId === h.id && !h.problems.some((p) => p.state === s.problem.state)).map((s) => s.problem)];
      for (const state of UNHEALTHY_STATES) {
        const prev = latest.get(`${h.id}|${state}`);
        const open = prev?.edge === 'enter';
        const p = problems.find((x) => x.state === state);
        if (p && !open) await enter(h, p, (prev?.episode ?? 0) + 1, now);
        else if (!p && open) await leave(h, state, prev, now);
      }
    }
  };

  const enter = async (h: InteractionHealth, p: Problem, episode: number, now: Date) => {
    const text = `omni: interaction #${h.id} ${h.name}: ${p.text}`;
    if (!(await insertTransition(o.db, { interactionId: h.id, state: p.state, episode, edge: 'enter', since: p.since, text, now: now.toISOString() }))) return;
    if (p.state === 'silence') silences++;
    o.log.warn(`health: interaction #${h.id} ${h.name}: ${p.text}`, { interaction: h.id, state: p.state, edge: 'enter', since: p.since });
  };

  const leave = async (h: InteractionHealth, state: UnhealthyState, prev: Transition, now: Date) => {
    const lasted = formatSeconds((now.getTime() - Date.parse(prev.since)) / 1000);
    const text = `omni: interaction #${h.id} ${h.name}: ${state === 'silence' ? 'a DM arrived; no longer silent' : `no longer ${STATE_WORDS[state]}`} (since ${prev.since}, ${lasted})`;
    if (!(await insertTransition(o.db, { interactionId: h.id, state, episode: prev.episode, edge: 'leave', since: now.toISOString(), text, now: now.toISOString() }))) return;
    o.log.info(`health: interaction #${h.id} ${h.name}: ${STATE_WORDS[state]}: resolved after ${lasted}`, { interaction: h.id, state, edge: 'leave', since: prev.since });
  };

  const sendDue = async () => {
    if (o.notifyUrls.length === 0) return;
    const now = clock();
    for (const t of await dueTransitions(o.db, now.toISOString())) {
      if (stopped) return;
      const tooOld = now.getTime() - Date.parse(t.recorded_at) > NOTIFY_MAX_AGE_MS;
      const until = new Date(now.getTime() + (o.notifyTimeoutMs ?? 10_000) * o.notifyUrls.length + 30_000).toISOString();
      if (!(await claimTransition(o.db, t.id, now.toISOString(), until))) continue;
      if (tooOld) {
        await markTransitionFailed(o.db, t.id, 'older than 24 hours when a listener with --notify first saw it; not sent', null);
        continue;
      }
      const done = delivered.get(t.id) ?? new Set<string>();
      const errors: string[] = [];
      for (const url of o.notifyUrls) {
        if (done.has(url)) continue;
        try {
          await postNotification(url, { text: t.text, interaction: t.interaction_id, state: t.state, edge: t.edge, since: t.since }, o.notifyTimeoutMs ?? 10_000);
          done.add(url);
        } catch (err) {
          errors.push(`${maskUrl(url)}: ${(err as Error).message}`);
        }
      }
      if (errors.length === 0) {
        delivered.delete(t.id);
        await markTransitionSent(o.db, t.id, clock().toISOString());
        continue;
      }
      delivered.set(t.id, done);
      const delay = retry[t.attempts];
      const next = delay === undefined ? null : new Date(clock().getTime() + delay).toISOString();
      await markTransitionFailed(o.db, t.id, errors.join('; '), next);
      if (next === null) {
        delivered.delete(t.id);
        o.log.error(`notify: gave up on the ${t.edge === 'enter' ? 'entering' : 'leaving'} of ${t.state} of interaction #${t.interaction_id} after ${t.attempts + 1} attempts: ${errors.join('; ')}`);
      } else o.log.warn(`notify: cannot deliver a notification (${errors.join('; ')}); trying again at ${next}`, { interaction: t.interaction_id, state: t.state });
    }
  };

  const kickSender = () => {
    if (sending || stopped) return;
    sending = sendDue()
      .catch((err) => {
        if (!stopped) o.log.error('notify: cannot read or update the notifications', err);
      })
      .finally(() => {
        sending = undefined;
      });
  };

  const evaluate = (seen: Array<{ interactionId: number; problem: Problem }> = []) => {
    // One judgement at a time, in order: a "found missing, then created" pair is seen as two.
    chain = chain.then(async () => {
      if (stopped) return;
      try {
        await judge(seen);
      } catch (err) {
        if (!stopped) o.log.error('health: cannot judge the interactions', err);
      }
      kickSender();
    });
    return chain;
  };

  const tick = () => {
    timer = setTimeout(() => {
      void evaluate().finally(() => {
        if (!stopped) tick();
      });
    }, o.intervalMs);
    timer.unref?.();
  };
  void evaluate().finally(() => {
    if (!stopped) tick();
  });

  return {
    current: () => last,
    evaluate,
    silencesEntered: () => silences,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await chain.catch(() => undefined);
      await sending?.catch(() => undefined);
    },
  };
}
