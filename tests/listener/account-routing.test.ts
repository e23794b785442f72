// The account router's cache: what it costs on the hot path (queries per delivery) and how soon it
// sees a change. Plain in-memory rows and a fake clock; the listener's use of it over HTTP is in
// shared-webhook.test.ts.
import { describe, expect, it } from 'vitest';
import type { IntakeInteractionRow, WebhookAccount } from '../../src/db/intake.js';
import { createAccountRouter } from '../../src/listener/account-routing.js';

const row = (id: number, account: string | null, over: Partial<IntakeInteractionRow> = {}): IntakeInteractionRow => ({
  id, name: `i${id}`, api_secret_key_enc: 'env', account_user_id: account, unit_id: null, group_id: null, activity_id: null, contact_origin_id: null,
  helper_interception: 0, revoked_at: null, api: 'activity', webhook_id: 'W', ...over,
});

function world() {
  const rows = new Map<number, IntakeInteractionRow>([[1, row(1, '100')], [2, row(2, '200')]]);
  let t = 0;
  let queries = 0;
  const router = createAccountRouter({
    accounts: (webhookId): WebhookAccount[] => {
      queries++;
      return [...rows.values()].filter((r) => r.webhook_id === webhookId).map((r) => ({ id: r.id, account: r.account_user_id }));
    },
    interaction: (id) => rows.get(id),
    secretOf: () => 'same',
    now: () => t,
  });
  return { rows, router, queries: () => queries, tick: (ms: number) => void (t += ms) };
}

describe('account router', () => {
  it('costs one query per webhook for any number of deliveries to known accounts', async () => {
    const w = world();
    const path = w.rows.get(1)!;
    for (let i = 0; i < 1000; i++) {
      expect(await w.router.route(path, '200')).toEqual({ kind: 'routed', row: w.rows.get(2) });
      expect(await w.router.route(path, '100')).toEqual({ kind: 'own' });
      expect(await w.router.route(path, null)).toEqual({ kind: 'own' });
      w.tick(10);
    }
    // 10 s of deliveries: read once, then again only when the map turned 60 s old (not yet).
    expect(w.queries()).toBe(1);
    w.tick(60_000);
    await w.router.route(path, '200');
    expect(w.queries()).toBe(2);
  });

  it('reads the map at most once a second while deliveries for unknown accounts flood in, and finds a new owner then', async () => {
    const w = world();
    const path = w.rows.get(1)!;
    for (let i = 0; i < 500; i++) {
      expect(await w.router.route(path, '999')).toMatchObject({ kind: 'unowned' });
      w.tick(4);
    }
    expect(w.queries()).toBe(2); // the first read, and one more after a second
    w.rows.set(3, row(3, '999'));
    w.tick(1_000);
    expect(await w.router.route(path, '999')).toEqual({ kind: 'routed', row: w.rows.get(3) });
  });

  it('never serves a deleted or moved owner from the cache', async () => {
    const w = world();
    const path = w.rows.get(1)!;
    expect(await w.router.route(path, '200')).toMatchObject({ kind: 'routed' });
    w.rows.delete(2);
    expect(await w.router.route(path, '200')).toMatchObject({ kind: 'unowned' });
    w.rows.set(2, row(2, '200', { webhook_id: 'OTHER' }));
    w.tick(2_000);
    expect(await w.router.route(path, '200')).toMatchObject({ kind: 'unowned' });
  });

  it('takes what names no account, or names any account while the path\'s own is unknown and nobody owns it', async () => {
    const w = world();
    const unknown = row(5, null);
    expect(await w.router.route(unknown, '777')).toEqual({ kind: 'own' });
    expect(await w.router.route(unknown, '200')).toMatchObject({ kind: 'routed' });
    expect(await w.router.route(row(6, '600', { webhook_id: null }), '777')).toMatchObject({ kind: 'unowned', reason: expect.stringContaining('omni webhook register 6') });
  });
});
