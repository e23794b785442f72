// kill -9 the listener again and again while a Twitter-like sender delivers and retries: every
// delivery answered 200 is stored, each exactly once, retries and redeliveries double nothing,
// and no answer is ever a 500.
import { afterEach, describe, expect, it } from 'vitest';
import { cliWithDb } from '../support/cli.js';
import { seedInteraction } from '../support/seed.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { inboundDm, newEventId } from '../support/deliveries.js';
import { deliverAll } from './sender.js';
import { eventIdOf, storedEventIds } from './db.js';
import { scale } from './scale.js';

let current: RunningListener | undefined;
afterEach(async () => {
  await current?.kill9();
  current = undefined;
});

describe('crash safety', () => {
  it('stores every delivery exactly once across repeated kill -9 during a retrying load', async () => {
    const { db } = cliWithDb();
    const { id } = await seedInteraction(db);
    const total = scale(400, 15_000);
    const kills = scale(3, 25);
    const bodies = Array.from({ length: total }, (_, i) => inboundDm({ senderId: String(7000 + (i % 300)), text: `message ${i}`, eventId: newEventId() }));

    expect(new Set(bodies.map(eventIdOf)).size).toBe(total); // distinct deliveries, or dedup rightly merges them

    current = await startListener({ db });
    let url = current.url;
    let killed = 0;
    let delivered = 0;
    let delivering = true;
    // Kills at fixed points of the load (not on a timer), so a fast machine cannot finish the load
    // before the first kill: kill i comes once i/(kills+1) of the deliveries were answered 200.
    const killer = (async () => {
      while (delivering && killed < kills) {
        const threshold = Math.floor((total * (killed + 1)) / (kills + 1));
        while (delivering && delivered < threshold) await new Promise((r) => setTimeout(r, 2));
        if (!delivering) break;
        await current!.kill9();
        killed++;
        current = await startListener({ db });
        url = current.url;
      }
    })();
    const logs = await deliverAll({
      url: () => url,
      interactionId: id,
      bodies,
      concurrency: 32,
      redeliverShare: 0.05,
      deadlineMs: scale(60_000, 540_000),
      onDelivered: () => delivered++,
    }).finally(() => (delivering = false));
    await killer;

    expect(killed).toBe(kills);
    // Refusals by design are 503 (database busy, shutting down); a crash shows as no answer at all.
    const statuses = new Set(logs.flatMap((l) => l.statuses));
    expect([...statuses].filter((s) => s !== 200 && s !== 503 && s !== 'error')).toEqual([]);
    const stored = await storedEventIds(db);
    expect(new Set(stored).size).toBe(stored.length); // nothing doubled
    expect(stored.length).toBe(total);
    const storedSet = new Set(stored);
    for (const body of bodies) expect(storedSet.has(eventIdOf(body))).toBe(true);
    expect(await current!.stop()).toEqual({ code: 0, signal: null });
  });
});
