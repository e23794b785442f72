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
