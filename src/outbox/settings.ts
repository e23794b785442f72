// Tuning knobs of the outbox, from the environment. Defaults suit production; tests shorten them.
import { UsageError } from '../errors.js';
import { apiTimeoutMs } from '../twitter/gateway.js';
import { DEFAULT_RETRY_BASE_MS } from './policy.js';

export interface OutboxSettings {
  /** How long a claim lasts before another process may take the row over (OMNI_OUTBOX_LEASE_MS). */
  leaseMs: number;
  /** First retry delay of transient failures, doubled each time (OMNI_OUTBOX_RETRY_MS). */
  retryBaseMs: number;
}

function positiveMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive number of milliseconds, not '${raw}'`, `unset it to use the default`);
  return n;
}

export function outboxSettings(env: NodeJS.ProcessEnv): OutboxSettings {
  const timeout = apiTimeoutMs(env);
  // A lease shorter than a request could end while Twitter is still answering: the row would be
  // claimed and sent a second time. Four request timeouts leave room for the commit after it.
  const leaseMs = positiveMs(env, 'OMNI_OUTBOX_LEASE_MS') ?? Math.max(60_000, 4 * timeout);
  if (leaseMs <= timeout) {
    throw new UsageError(`OMNI_OUTBOX_LEASE_MS (${leaseMs}) must be longer than the Twitter request timeout (${timeout} ms)`, 'raise it, or lower OMNI_TWITTER_TIMEOUT_MS');
  }
  return { leaseMs, retryBaseMs: positiveMs(env, 'OMNI_OUTBOX_RETRY_MS') ?? DEFAULT_RETRY_BASE_MS };
}

/** "30m", "1h", "90s", "1h30m" or a plain number of minutes → milliseconds. */
export function parseDuration(value: string, what: string): number {
  const v = value.trim().toLowerCase();
  if (/^\d+$/.test(v)) return Number(v) * 60_000;
  const re = /(\d+)\s*(h|m|s)/g;
  let total = 0;
  let consumed = '';
  for (const m of v.matchAll(re)) {
    total += Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : 1000);
    consumed += m[0];
  }
  if (total <= 0 || consumed.replace(/\s+/g, '') !== v.replace(/\s+/g, '')) {
    throw new UsageError(`${what} must be a duration like 30m, 1h or 90s, not '${value}'`, 'example: --helper-idle 30m');
  }
  return total;
}
