// What the X gateway tells about X's answers, recorded on the interaction(s) the gateway serves
// (interaction_health): the last refusal, named; a later success clears it. Every X API 2026 gateway
// that belongs to interactions gets one (openXGateway, the outbox's sender, the stream, replay).
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { clearXError, patchHealth } from '../db/health.js';
import type { TwitterError } from '../twitter/errors.js';
import type { XCallObserver } from '../twitter/gateway-v2.js';

/** A success writes at most this often (it only clears a recorded error), unless this observer recorded one. */
const CLEAR_EVERY_MS = 10_000;
/** X's rate-limit window, when a 429 names no reset time. */
const RATE_WINDOW_MS = 15 * 60_000;

export function healthObserver(db: Kysely<Database>, interactionIds: number[], now: () => Date = () => new Date()): XCallObserver {
  let dirty = true; // another process may have recorded an error: the first success looks
  let lastClear = 0;
  return {
    async refused(err: TwitterError) {
      const at = now().toISOString();
      if (err.kind === 'rate-limited') {
        const until = (err.resetAt ?? new Date(now().getTime() + RATE_WINDOW_MS)).toISOString();
        await patchHealth(db, interactionIds, { rate_limited_until: until }, at);
        return;
      }
      await patchHealth(db, interactionIds, { x_error_kind: err.kind, x_error_status: err.httpStatus ?? null, x_error_message: err.message.slice(0, 500), x_error_at: at }, at);
      dirty = true;
    },
    async succeeded() {
      const t = now().getTime();
      if (!dirty && t - lastClear < CLEAR_EVERY_MS) return;
      lastClear = t;
      dirty = false;
      await clearXError(db, interactionIds, new Date(t).toISOString());
    },
  };
}
