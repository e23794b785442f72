// The listener's health monitor (src/health/monitor.ts) on a real SQLite file shared by two
// monitors (two listeners): each transition recorded once, notified once, a failed POST retried.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { listTransitions, recordReconcile } from '../../src/db/health.js';
import { startHealthMonitor, type HealthMonitor } from '../../src/health/monitor.js';
import { readHealth } from '../../src/health/read.js';
import { seedInteraction } from '../support/seed.js';
import { testDatabase } from '../support/engine.js';
import { memoryLog, waitFor } from '../support/wait.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('the health monitor', () => {
  it('two monitors on one database record and notify each transition once; a refused POST is retried, not repeated', async () => {
    const dbPath = testDatabase();
    const { id } = await seedInteraction(dbPath, { name: 'Support' });
    const bodies: Array<Record<string, unknown>> = [];
    let refuse = 1;
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        if (refuse-- > 0) return void res.writeHead(500).end();
        bodies.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => server.close(r)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

    const [one, two] = [await openDatabase(dbPath), await openDatabase(dbPath)];
    closers.push(() => one.close(), () => two.close());
    const logs = [memoryLog(), memoryLog()];
    const monitors: HealthMonitor[] = [one, two].map((db, i) => startHealthMonitor({ db: db.kysely, log: logs[i]!, intervalMs: 50, notifyUrls: [url], retryDelaysMs: [100, 100] }));
    for (const m of monitors) closers.push(() => m.stop());

    // Silent for two hours with an alert after an hour.
    await one.kysely.updateTable('interactions').set({ silence_alert_seconds: 3600, created_at: new Date(Date.now() - 7_200_000).toISOString() }).where('id', '=', id).execute();
    await waitFor(() => bodies.some((b) => b.edge === 'enter'), 'the entering notified', 10_000);
    const [h] = await readHealth(one.kysely, new Date());
    expect(h!.problems.map((p) => p.state)).toEqual(['silence']);

    // It ends: the alert is switched off.
    await one.kysely.updateTable('interactions').set({ silence_alert_seconds: null }).where('id', '=', id).execute();
    await waitFor(() => bodies.some((b) => b.edge === 'leave'), 'the leaving notified', 10_000);
    await new Promise((r) => setTimeout(r, 400)); // more rounds of both monitors

    expect(bodies.map((b) => [b.state, b.edge, b.interaction])).toEqual([
      ['silence', 'enter', id],
      ['silence', 'leave', id],
    ]);
    const rows = await listTransitions(one.kysely, id);
    expect(rows.map((r) => [r.state, r.episode, r.edge, r.sent_at !== null])).toEqual([
      ['silence', 1, 'enter', true],
      ['silence', 1, 'leave', true],
    ]);
    expect(rows[0]!.attempts).toBe(2); // refused once, then delivered
    expect(rows[0]!.last_error).toBeNull();
    // One warn line for the silence, across both monitors; the URL's path never logged.
    expect(logs.flatMap((l) => l.lines).filter((l) => l.level === 'warn' && l.fields?.state === 'silence' && l.fields?.edge === 'enter')).toHaveLength(1);
    expect(JSON.stringify(logs.map((l) => l.lines))).not.toContain('/hook');
  });

  it('recordReconcile leaves when and how many for status', async () => {
    const dbPath = testDatabase();
    const { id } = await seedInteraction(dbPath, { name: 'Support' });
    const db = await openDatabase(dbPath);
    closers.push(() => db.close());
    await recordReconcile(db.kysely, id, { at: '2026-12-01T10:00:00.000Z', found: 3 });
    const [h] = await readHealth(db.kysely, new Date('2026-12-01T10:05:00.000Z'));
    expect(h!.reconcile).toEqual({ at: '2026-12-01T10:00:00.000Z', found: 3 });
  });
});
