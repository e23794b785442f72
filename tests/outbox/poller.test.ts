import { describe, expect, it } from 'vitest';
import { startPoller } from '../../src/outbox/poller.js';
import { waitFor } from '../support/wait.js';

const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

describe('startPoller', () => {
  it('reports the first claim of a busy streak only, and again after the lock was free once', async () => {
    const answers: Array<'busy' | 'none' | 'boom'> = ['busy', 'busy', 'busy', 'none', 'busy', 'boom', 'boom'];
    let calls = 0;
    const errors: string[] = [];
    const poller = startPoller<number>({
      intervalMs: 1,
      concurrency: 1,
      claim: () => {
        const a = answers[calls++] ?? 'none';
        if (a === 'busy') throw busy();
        if (a === 'boom') throw new Error('boom');
        return undefined;
      },
      work: async () => undefined,
      onError: (err) => errors.push((err as Error).message),
    });
    await waitFor(() => calls > answers.length, 'every scripted claim');
    await poller.stop();
    // Three busy polls: one line. Free, then busy again: a new streak. Other errors: every time.
    expect(errors).toEqual(['database is locked', 'database is locked', 'boom', 'boom']);
  });

  it('takes async claims (PostgreSQL); an unreachable database is reported once per outage, polled less often, and its recovery said', async () => {
    const unreachable = () => Object.assign(new Error('PostgreSQL is unreachable: connect ECONNREFUSED'), { code: 'ERR_DB_UNREACHABLE' });
    const at: number[] = [];
    let outage = true;
    const errors: string[] = [];
    let recovered = 0;
    const worked: number[] = [];
    let next = 1;
    const poller = startPoller<number>({
      intervalMs: 5,
      maxBackoffMs: 80,
      concurrency: 2,
      claim: async () => {
        at.push(performance.now());
        if (outage) throw unreachable();
        return next <= 3 ? next++ : undefined;
      },
      work: async (n) => void worked.push(n),
      onError: (err) => errors.push((err as Error).message),
      onRecovered: () => recovered++,
    });
    await waitFor(() => at.length >= 6, 'six claims during the outage', 5_000);
    // The pause doubles: 10, 20, 40, 80, 80 ms… not one claim every 5 ms.
    const gaps = at.slice(1, 6).map((t, i) => t - at[i]!);
    expect(gaps[4]!).toBeGreaterThanOrEqual(60);
    expect(errors).toEqual(['PostgreSQL is unreachable: connect ECONNREFUSED']);
    outage = false;
    await waitFor(() => worked.length === 3, 'the work after the outage', 5_000);
    await poller.stop();
    expect(worked.sort()).toEqual([1, 2, 3]);
    expect(recovered).toBe(1);
    expect(errors).toHaveLength(1);
  });
});
