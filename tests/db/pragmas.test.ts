import { spawn } from 'node:child_process';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { configureConnection, withBusyTimeout } from '../../src/db/pragmas.js';
import { tempDir } from '../support/tmp.js';

/**
 * Another process starts writing to a rollback-journal file (RESERVED lock: what a second omni
 * process holds while it switches the same new file to WAL) for holdMs, then lets go.
 */
async function holdWriteLock(file: string, holdMs: number): Promise<{ done: Promise<number> }> {
  const script = `
    const Db = require('better-sqlite3');
    const db = new Db(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));
  `;
  const child = spawn(process.execPath, ['-e', script, file, String(holdMs)], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
  return { done: new Promise((resolve) => child.once('exit', (code) => resolve(code ?? -1))) };
}

/** A database file as SQLite creates it: rollback journal, not yet WAL, with one table t. */
function newRollbackJournalFile(): string {
  const file = path.join(tempDir(), 'new.db');
  const setup = new BetterSqlite3(file);
  setup.exec('CREATE TABLE t (x)');
  expect(setup.pragma('journal_mode', { simple: true })).toBe('delete');
  setup.close();
  return file;
}

describe('configureConnection', () => {
  it('waits for a write lock held elsewhere before switching a new file to WAL, instead of failing at once', async () => {
    const file = newRollbackJournalFile();
    const holder = await holdWriteLock(file, 300);
    const sqlite = new BetterSqlite3(file);
    const started = Date.now();
    try {
      // SQLite alone answers SQLITE_BUSY here without calling the busy handler: the switch
      // upgrades a read to a write, which SQLite never waits for.
      configureConnection(sqlite, { busyTimeoutMs: 5000 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
      expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      sqlite.close();
    }
    expect(await holder.done).toBe(0);
  });

  it('still gives up with SQLITE_BUSY once the busy budget is spent', async () => {
    const file = newRollbackJournalFile();
    const holder = await holdWriteLock(file, 1500);
    const sqlite = new BetterSqlite3(file);
    try {
      expect(() => configureConnection(sqlite, { busyTimeoutMs: 200 })).toThrow(expect.objectContaining({ code: expect.stringMatching(/^SQLITE_BUSY/) }));
    } finally {
      sqlite.close();
    }
    await holder.done;
  });
});

describe('withBusyTimeout', () => {
  it('gives up on a held lock after the short timeout and restores the connection\'s own, even when fn throws', async () => {
    const file = newRollbackJournalFile();
    const holder = await holdWriteLock(file, 1500);
    const sqlite = new BetterSqlite3(file);
    try {
      sqlite.pragma('busy_timeout = 5000');
      const started = Date.now();
      expect(() => withBusyTimeout(sqlite, 100, () => sqlite.exec('INSERT INTO t VALUES (1)'))).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
    } finally {
      sqlite.close();
    }
    await holder.done;
  });
});
