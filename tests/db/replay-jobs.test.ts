// The replay jobs repository (migration 0012) on both engines: a request and X's status meet on
// the job id in either order, a redelivered status changes nothing, and the intake's SQLite
// statement writes the same row as the Kysely function.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { createReplayJobStatusWriter, recordReplayJobRequested, recordReplayJobStatus, replayJobsOfWebhook, replayJobStatus } from '../../src/db/replay-jobs.js';
import { TEST_ENGINE, testDatabase } from '../support/engine.js';

const status = (jobId: string, state: string, at: string) => ({ jobId, webhookId: 'w1', state, description: `${state} desc`, interactionId: null, at });

describe('replay jobs', () => {
  it('keeps the request and the status of one job in one row, whichever comes first', async () => {
    const db = await openDatabase(testDatabase());
    try {
      const k = db.kysely;
      expect(await replayJobStatus(k, 'j1')).toBeUndefined();
      await recordReplayJobRequested(k, { jobId: 'j1', webhookId: 'w1', interactionId: null, at: '2026-12-01T07:00:00.000Z' });
      expect(await replayJobStatus(k, 'j1')).toEqual({ job_id: 'j1', webhook_id: 'w1', interaction_id: null, state: 'requested', description: null, requested_at: '2026-12-01T07:00:00.000Z', reported_at: null });
      await recordReplayJobStatus(k, status('j1', 'Complete', '2026-12-01T07:05:00.000Z'));
      await recordReplayJobStatus(k, status('j1', 'Complete', '2026-12-01T07:05:00.000Z'));
      expect(await replayJobStatus(k, 'j1')).toMatchObject({ state: 'Complete', description: 'Complete desc', requested_at: '2026-12-01T07:00:00.000Z', reported_at: '2026-12-01T07:05:00.000Z' });

      // The status first (a job requested elsewhere), then a late request record: the status stays.
      await recordReplayJobStatus(k, status('j2', 'Incomplete', '2026-12-01T08:00:00.000Z'));
      await recordReplayJobRequested(k, { jobId: 'j2', webhookId: 'w1', interactionId: null, at: '2026-12-01T07:58:00.000Z' });
      expect(await replayJobStatus(k, 'j2')).toMatchObject({ state: 'Incomplete', requested_at: '2026-12-01T07:58:00.000Z' });
      expect((await replayJobsOfWebhook(k, 'w1')).map((j) => j.job_id)).toEqual(['j2', 'j1']);
      expect(await replayJobsOfWebhook(k, 'other')).toEqual([]);

      if (TEST_ENGINE === 'sqlite') {
        createReplayJobStatusWriter(db.sqlite)(status('j3', 'Complete', '2026-12-01T09:00:00.000Z'));
        expect(await replayJobStatus(k, 'j3')).toMatchObject({ state: 'Complete', webhook_id: 'w1', reported_at: '2026-12-01T09:00:00.000Z' });
      }
    } finally {
      await db.close();
    }
  });
});
