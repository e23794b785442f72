// What one durable commit costs on this disk: raw fdatasync of a 4 KiB append, and a one-row SQLite
// transaction in WAL mode with synchronous=FULL (an append to the WAL, then fsync). It bounds the
// commits per second, hence why the listener commits deliveries in groups.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export function measureFsync(dir, rounds = 200) {
  const file = path.join(dir, 'fsync.probe');
  const fd = fs.openSync(file, 'w');
  const page = Buffer.alloc(4096, 1);
  const raw = [];
  for (let i = 0; i < rounds; i++) {
    fs.writeSync(fd, page);
    const t = performance.now();
    fs.fdatasyncSync(fd);
    raw.push(performance.now() - t);
  }
  fs.closeSync(fd);
  fs.rmSync(file);

  const dbFile = path.join(dir, 'fsync.db');
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
  const commit = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    ins.run('x'.repeat(200)); // autocommit: one transaction, one WAL fsync
    commit.push(performance.now() - t);
  }
  db.close();
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
  return { fdatasyncMs: stats(raw), sqliteCommitMs: stats(commit), commitsPerSecondCeiling: Math.round(1000 / median(commit)) };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median: round(median(s)), p99: round(at(0.99)), min: round(s[0]) };
}

export const round = (x, d = 2) => (x === null || x === undefined ? x : Math.round(x * 10 ** d) / 10 ** d);
