// The per-connection settings every omni connection to a database file uses. Shared by
// openDatabase and the listener's writer thread, which opens its own connection to the same file.
import type BetterSqlite3 from 'better-sqlite3';

export function configureConnection(sqlite: BetterSqlite3.Database, opts: { busyTimeoutMs: number; readonly?: boolean }): void {
  sqlite.pragma(`busy_timeout = ${opts.busyTimeoutMs}`);
  if (!opts.readonly) sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  // FULL: a delivery answered 200 must survive a power cut, not only a process crash.
  sqlite.pragma('synchronous = FULL');
}
