// The account health repository (migration 0016) on both engines: the health row patched from
// several writers, X's error cleared by a success, transitions recorded once per unique key,
// claimed by one sender at a time, and the per-interaction reads status makes.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import {
  claimTransition,
  clearXError,
  dueTransitions,
  inboundActivity,
  insertTransition,
  latestTransitions,
  listHealthRows,
  markTransitionFailed,
  markTransitionSent,
  outboxBacklog,
  patchHealth,
  recordReconcile,
} from '../../src/db/health.js';
import { insertInteraction } from '../../src/db/interactions.js';
import { testDatabase } from '../support/engine.js';

const T = (m: number) => `2026-12-01T10:${String(m).padStart(2, '0')}:00.000Z`;

describe('account health storage', () => {
  it('patches, clears, records transitions once and lets one sender claim each', async () => {
    const db = await openDatabase(testDatabase());
    try {
      const k = db.kysely;
      const row = await insertInteraction(k, {
        name: 'Support', channel: 'twitter-dm', unit_id: null, group_id: null, activity_id: null, contact_origin_id: null, dev_environment: '',
        api_key_enc: 'x', api_secret_key_enc: 'x', access_token_enc: 'x', access_token_secret_enc: 'x', callback_url: 'https://h.example.com',
        account_user_id: null, account_screen_name: null, webhook_id: null, webhook_url: null, webhook_valid: null, subscribed: null,
        webhook_checked_at: null, webhook_last_error: null, revoked_at: null, deleted_at: null, created_at: T(0), updated_at: T(0),
      });
      const id = row.id;
      await patchHealth(k, [id], { x_error_kind: 'credits-depleted', x_error_status: 402, x_error_message: 'no credits', x_error_at: T(1) }, T(1));
      await patchHealth(k, [id], { subscriptions_missing: '[]', subscriptions_checked_at: T(2) }, T(2));
      await recordReconcile(k, id, { at: T(3), found: 2 });
      expect(await listHealthRows(k)).toEqual([expect.objectContaining({ interaction_id: id, x_error_kind: 'credits-depleted', subscriptions_missing: '[]', last_reconcile_found: 2, updated_at: T(3) })]);
      expect(await clearXError(k, [id], T(4))).toBe(true);
      expect(await clearXError(k, [id], T(5))).toBe(false);
      expect((await listHealthRows(k))[0]).toMatchObject({ x_error_kind: null, x_error_status: null });

      const t = { interactionId: id, state: 'silence', episode: 1, edge: 'enter' as const, since: T(0), text: 'silent', now: T(6) };
      expect(await insertTransition(k, t)).toBe(true);
      expect(await insertTransition(k, t)).toBe(false); // another listener got there first
      expect(await insertTransition(k, { ...t, edge: 'leave', since: T(7), now: T(7) })).toBe(true);
      expect((await latestTransitions(k)).map((r) => [r.state, r.edge, r.episode])).toEqual([['silence', 'leave', 1]]);

      const due = await dueTransitions(k, T(8));
      expect(due.map((r) => r.edge)).toEqual(['enter', 'leave']);
      expect(await claimTransition(k, due[0]!.id, T(8), T(9))).toBe(true);
      expect(await claimTransition(k, due[0]!.id, T(8), T(9))).toBe(false); // held
      expect((await dueTransitions(k, T(8))).map((r) => r.edge)).toEqual(['leave']);
      await markTransitionFailed(k, due[0]!.id, 'answered HTTP 500', T(10));
      expect((await dueTransitions(k, T(9))).map((r) => r.edge)).toEqual(['leave']);
      expect(await claimTransition(k, due[0]!.id, T(10), T(11))).toBe(true);
      await markTransitionSent(k, due[0]!.id, T(10));
      expect((await dueTransitions(k, T(30))).map((r) => r.edge)).toEqual(['leave']);

      expect((await inboundActivity(k, T(0))).size).toBe(0);
      expect((await outboxBacklog(k)).size).toBe(0);
    } finally {
      await db.close();
    }
  });
});
