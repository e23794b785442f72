// The per-connection settings every omni connection to a database file uses. Shared by
// openDatabase and the listener's writer thread, which opens its own connection to the same file.
import type BetterSqlite3 from 'better-sqlite3';

export function configureConnection(sqlite: BetterSqlite3.Database, opts: { busyTimeoutMs: number; readonly?: boolean }): void {
  sqlite.pragma(`busy_timeout = ${opts.busyTimeoutMs}`);
  if (!opts.readonly) enableWal(sqlite, opts.busyTimeoutMs);
  sqlite.pragma('foreign_keys = ON');
  // Freed cells, pages and reused root pages are overwritten with zeros, so that what `omni requester
  // erase` and retention remove leaves no copy in free space (docs/privacy.md). The cost: the bytes
  // of a freed area are written once more, which for omni (inserts, few deletes) is a few percent of
  // the writes at most.
  if (!opts.readonly) sqlite.pragma('secure_delete = ON');
  // FULL: a delivery answered 200 must survive a power cut, not only a process crash.
  sqlite.pragma('synchronous = FULL');
}

/**
 * Switching a new file to WAL reads the header, then writes it: a read upgraded to a write, which
 * SQLite never waits for (it would deadlock), so the busy handler is not called. When several
 * processes open a brand-new database at once (a CI job starting listeners and CLI calls together),
 * the ones that lose the race get SQLITE_BUSY at once, busy_timeout or not.
 * We wait and retry within the same budget busy_timeout gives every other lock. Once the file is in
 * WAL mode (persistent), the pragma only reads the mode and never contends.
 */
function enableWal(sqlite: BetterSqlite3.Database, budgetMs: number): void {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      sqlite.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw err;
      sleepSync(Math.min(2 ** attempt, 50));
    }
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** How long an event-loop write that is retried later may wait for the lock. */
export const RETRYABLE_WRITE_BUSY_MS = 100;

/**
 * Runs fn with a shorter busy_timeout on this connection. For the listener's event-loop writes that
 * can simply be tried again later (claims, the CRC journal): waiting the full busy_timeout for a lock
 * another process holds would freeze every connection of the listener, CRC answers included.
 */
export function withBusyTimeout<T>(sqlite: BetterSqlite3.Database, ms: number, fn: () => T): T {
  const previous = sqlite.pragma('busy_timeout', { simple: true }) as number;
  if (previous <= ms) return fn();
  sqlite.pragma(`busy_timeout = ${ms}`);
  try {
    return fn();
  } finally {
    sqlite.pragma(`busy_timeout = ${previous}`);
  }
}
