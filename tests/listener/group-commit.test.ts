import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { createBatchCommitter } from '../../src/db/batch.js';
import { createGroupCommitter } from '../../src/listener/group-commit.js';
import { tempDir } from '../support/tmp.js';

let db: Db | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

describe('group commit', () => {
  it('commits concurrent jobs in one transaction, and a failing job alone is rolled back', async () => {
    db = await openDatabase(path.join(tempDir(), 'omni.db'));
    const s = db.sqlite;
    const insert = s.prepare("INSERT INTO units (name, created_at) VALUES (?, 'now')");
    const committer = createGroupCommitter<() => unknown, unknown>(createBatchCommitter(s));
    const jobs = ['a', 'b', 'bad', 'c'].map((name) =>
      committer.submit(() => {
        insert.run(name);
        if (name === 'bad') throw new Error('this delivery is broken');
        return name;
      }),
    );
    const settled = await Promise.allSettled(jobs);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(s.prepare('SELECT name FROM units ORDER BY id').all()).toEqual([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    expect(committer.stats).toMatchObject({ batches: 1, jobs: 4, largestBatch: 4 });
  });

  it('fails every job of a batch whose transaction cannot be written, and recovers afterwards', async () => {
    db = await openDatabase(path.join(tempDir(), 'omni.db'));
    const s = db.sqlite;
    const insert = s.prepare("INSERT INTO units (name, created_at) VALUES (?, 'now')");
    const committer = createGroupCommitter<() => unknown, unknown>(createBatchCommitter(s));
    s.pragma('query_only = ON');
    const refused = await Promise.allSettled(['x', 'y'].map((n) => committer.submit(() => insert.run(n))));
    expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: expect.stringMatching(/^SQLITE_READONLY/) });
    s.pragma('query_only = OFF');
    await committer.submit(() => insert.run('z'));
    expect(s.prepare('SELECT name FROM units').all()).toEqual([{ name: 'z' }]);
    await committer.drain();
  });
});

describe('group commit with an asynchronous writer', () => {
  it('hands over at most maxInFlight batches and answers each job only when its batch is written', async () => {
    const written: number[][] = [];
    const gates: Array<() => void> = [];
    const committer = createGroupCommitter<number, number>(
      (jobs) =>
        new Promise((resolve) => {
          written.push(jobs);
          gates.push(() => resolve(jobs.map((j) => ({ ok: true as const, value: j * 10 }))));
        }),
      { maxInFlight: 2 },
    );
    const first = [1, 2].map((j) => committer.submit(j));
    await new Promise((r) => setImmediate(r));
    const second = [3].map((j) => committer.submit(j));
    await new Promise((r) => setImmediate(r));
    const third = [4, 5].map((j) => committer.submit(j));
    await new Promise((r) => setImmediate(r));
    expect(written).toEqual([[1, 2], [3]]); // the third batch waits for a free slot
    let settled = false;
    void Promise.all(first).then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    gates.shift()!();
    expect(await Promise.all(first)).toEqual([10, 20]);
    await new Promise((r) => setImmediate(r));
    expect(written).toEqual([[1, 2], [3], [4, 5]]);
    const drained = committer.drain();
    gates.shift()!();
    gates.shift()!();
    expect(await Promise.all([...second, ...third])).toEqual([30, 40, 50]);
    await drained;
    expect(committer.stats).toMatchObject({ batches: 3, jobs: 5, largestBatch: 2 });
  });

  it('fails every job of a batch whose writer rejects', async () => {
    const committer = createGroupCommitter<number, number>(() => Promise.reject(new Error('the writer is gone')));
    const settled = await Promise.allSettled([1, 2].map((j) => committer.submit(j)));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });
});
