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
});
