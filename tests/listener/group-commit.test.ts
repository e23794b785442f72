import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { createBatchCommitter } from '../../src/db/intake.js';
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
    const committer = createGroupCommitter(createBatchCommitter(s));
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
    const committer = createGroupCommitter(createBatchCommitter(s));
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
