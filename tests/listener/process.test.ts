// `omni listen` as a real process on this run's engine: the simulate → ticket loop, SIGTERM, kill -9;
// and on SQLite the first run on a fresh machine (the default database file).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { cliWithDb } from '../support/cli.js';
import { seedInteraction } from '../support/seed.js';
import { tempDir } from '../support/tmp.js';
import { TEST_ENGINE } from '../support/engine.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { FIXTURES, inboundDm, inParallel, newEventId, postDelivery, type PostResult } from '../support/deliveries.js';

let listeners: RunningListener[] = [];
afterEach(async () => {
  for (const l of listeners) await l.kill9();
  listeners = [];
});
const track = (l: RunningListener) => (listeners.push(l), l);

async function storedEventIds(dbPath: string): Promise<string[]> {
  const db = await openDatabase(dbPath);
  try {
    return (await db.kysely.selectFrom('messages').select('twitter_event_id').execute()).map((r) => r.twitter_event_id!);
  } finally {
    await db.close();
  }
}

describe(`omni listen (process) on ${TEST_ENGINE}`, () => {
  it.runIf(TEST_ENGINE === 'sqlite')('starts on a fresh machine with the default database path and says what to do next', async () => {
    const home = tempDir();
    const xdg = path.join(home, 'xdg');
    const l = track(await startListener({ env: { HOME: home, XDG_DATA_HOME: xdg } }));
    expect(fs.existsSync(path.join(xdg, 'omni', 'omni.db'))).toBe(true);
    expect(l.logs()[0]).toMatchObject({ level: 'info', port: l.port, interactions: [] });
    const next = await l.waitForLog((x) => x.level === 'warn');
    expect(next.nextSteps).toEqual(expect.arrayContaining([expect.stringContaining('omni interaction new')]));
    expect((await fetch(`${l.url}/healthz`)).status).toBe(200);
    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it.runIf(TEST_ENGINE === 'sqlite')('prints the next steps as readable lines in pretty format too', async () => {
    const home = tempDir();
    const l = track(await startListener({ env: { HOME: home, XDG_DATA_HOME: path.join(home, 'x') }, args: ['--log-format', 'pretty'] }));
    expect(l.stdout()).toContain('Ready! omni is listening on http://127.0.0.1:');
    // The lines after the first come a moment later: wait for the last one (generously, on a busy machine).
    for (let i = 0; i < 500 && !l.stdout().includes('Press Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(l.stdout()).toContain('omni interaction new');
    expect(await l.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('shuts down in order on a SIGTERM that arrives the moment it says it is ready, with its workers still starting', async () => {
    const { db, env } = cliWithDb();
    const l = track(await startListener({ db, env }));
    // startListener resolves on the first log line: the watchdog and the outbox and Helper workers
    // are still being loaded. Before the fix this killed the process (signal SIGTERM, no exit code).
    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(l.logs().some((x) => x.msg === 'stopped')).toBe(true);
  });

  it('turns simulated DMs into tickets: one ticket per conversation, a new one after close, forged ones refused', async () => {
    const { db, run, env } = cliWithDb();
    const { id } = await seedInteraction(db);
    const l = track(await startListener({ db, env }));
    const url = ['--url', l.url];

    const first = await run(['simulate', 'dm', String(id), '--text', 'my order is late', ...url]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^new ticket: ticket #1 message_create from @alice/m);
    const second = await run(['simulate', 'dm', String(id), '--text', 'any news?', ...url, '--json']);
    expect(JSON.parse(second.stdout).results).toEqual([expect.objectContaining({ outcome: 'appended', ticket: 1, screenName: 'alice' })]);

    const list = JSON.parse((await run(['ticket', 'list', '--json'])).stdout);
    expect(list).toEqual([
      expect.objectContaining({ id: 1, interactionId: id, status: 'open', subject: 'my order is late', messageCount: 2, requester: expect.objectContaining({ screenName: 'alice' }) }),
    ]);
    expect((await run(['ticket', 'close', '1'])).code).toBe(0);
    const third = await run(['simulate', 'dm', 'Support', '--text', 'still waiting', ...url, '--json']);
    expect(JSON.parse(third.stdout).results[0]).toMatchObject({ outcome: 'new_ticket', ticket: 2 });

    // A forged signature: refused, nothing stored.
    const forged = await postDelivery(l.url, id, inboundDm({ senderId: '42', text: 'forged' }), { secret: 'guess' });
    expect(forged.status).toBe(401);
    // A recorded body replayed byte for byte.
    const replay = await run(['simulate', 'dm', String(id), '--fixture', path.join(FIXTURES, 'v1-dm-inbound-text.zammad3.body.json'), ...url, '--json']);
    expect(JSON.parse(replay.stdout).results[0]).toMatchObject({ outcome: 'new_ticket', screenName: 'medenhofer' });
    const all = JSON.parse((await run(['ticket', 'list', '--status', 'all', '--json'])).stdout);
    expect(all.map((t: { id: number; messageCount: number }) => [t.id, t.messageCount])).toEqual([[3, 1], [2, 1], [1, 2]]);

    await l.waitForLog((x) => x.msg === 'delivery' && x.results[0].screenName === 'medenhofer');
    const lines = l.logs().filter((x) => x.msg === 'delivery' || x.msg === 'delivery rejected');
    expect(lines.map((x) => x.status)).toEqual([200, 200, 200, 401, 200]);
    expect(await l.stop()).toEqual({ code: 0, signal: null });
  });

  it('explains a refused simulation and a missing listener in one line each', async () => {
    const { db, run, env } = cliWithDb();
    const { id } = await seedInteraction(db);
    const down = await run(['simulate', 'dm', String(id), '--text', 'x', '--url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/no answer from a listener at http:\/\/127\.0\.0\.1:9/);
    expect(down.stderr).toContain('omni listen');
    const l = track(await startListener({ db, env }));
    const wrong = await run(['simulate', 'dm', String(id), '--fixture', path.join(FIXTURES, 'v1-dm-inbound.xdocs.json'), '--url', l.url]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('403');
    expect(wrong.stderr).toContain("for_user_id");
  });

  it('on SIGTERM answers the deliveries in flight, stores every one answered 200, and exits 0', async () => {
    const { db, env } = cliWithDb();
    const { id } = await seedInteraction(db);
    const l = track(await startListener({ db, env }));
    const bodies = Array.from({ length: 300 }, (_, i) => inboundDm({ senderId: String(500 + (i % 20)), text: `m${i}`, eventId: newEventId() }));
    const answered: string[] = [];
    const refusals: number[] = [];
    let stopped: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
    await inParallel(bodies, 32, async (body) => {
      // The signal arrives while 32 deliveries are in flight.
      if (answered.length >= 100 && !stopped) stopped = l.stop('SIGTERM');
      const res: PostResult | undefined = await postDelivery(l.url, id, body).catch(() => undefined);
      if (res?.status === 200) answered.push(res.body.results[0].id);
      else if (res) refusals.push(res.status);
    });
    expect(await stopped).toEqual({ code: 0, signal: null });
    // A delivery is either answered 200 (and stored), refused with 503, or cut off before it was
    // read (the sender retries); never a 500, never stored twice.
    expect(refusals.filter((s) => s !== 503)).toEqual([]);
    const stored = await storedEventIds(db);
    expect(new Set(stored).size).toBe(stored.length);
    for (const e of answered) expect(stored).toContain(e);
    expect(l.logs().at(-1)).toMatchObject({ msg: 'stopped', deliveriesCommitted: expect.any(Number) });
  });

  it('after kill -9 during a load, every delivery answered 200 is stored, and a restart carries on', async () => {
    const { db, env } = cliWithDb();
    const { id } = await seedInteraction(db);
    const l = track(await startListener({ db, env }));
    const bodies = Array.from({ length: 600 }, (_, i) => inboundDm({ senderId: String(900 + (i % 50)), text: `m${i}`, eventId: newEventId() }));
    const answered: string[] = [];
    let killed = false;
    await inParallel(bodies, 48, async (body) => {
      if (answered.length >= 200 && !killed) {
        killed = true;
        await l.kill9();
      }
      const res = await postDelivery(l.url, id, body).catch(() => undefined);
      if (res?.status === 200) answered.push(res.body.results[0].id);
    });
    expect(killed).toBe(true);
    const stored = await storedEventIds(db);
    for (const e of answered) expect(stored).toContain(e);

    // Twitter retries everything not answered 200: after a restart each event is stored exactly once.
    const again = track(await startListener({ db, env }));
    const retried = await inParallel(bodies, 48, (body) => postDelivery(again.url, id, body));
    expect(retried.every((r) => r.status === 200)).toBe(true);
    const final = await storedEventIds(db);
    expect(final).toHaveLength(bodies.length);
    expect(new Set(final).size).toBe(bodies.length);
    expect(await again.stop()).toEqual({ code: 0, signal: null });
  });
});
