// Outbox gauges for /metrics without depending on the outbox's code: the outbox (issue 5) is built
// on another branch, so the listener looks for its table at scrape time. ASSUMED SHAPE, check it at
// merge: a table `outbox` with a text column `status` whose values include 'pending' and 'failed'.
// If the table is absent or shaped otherwise, no outbox gauge is reported (never a made-up 0).
import type BetterSqlite3 from 'better-sqlite3';

export const OUTBOX_TABLE = 'outbox';
export const OUTBOX_STATUSES = ['pending', 'failed'] as const;

/** Counts by status, or undefined when there is no outbox table with a status column. */
export function createOutboxCounter(sqlite: BetterSqlite3.Database): () => Record<(typeof OUTBOX_STATUSES)[number], number> | undefined {
  // pragma_table_info reads the schema SQLite already holds in memory: a cheap lookup at every scrape,
  // so the gauges appear as soon as a migration adds the table, without a restart.
  const columns = sqlite.prepare<[string], { name: string }>("SELECT name FROM pragma_table_info(?)");
  let counts: BetterSqlite3.Statement<[], { status: string; n: number }> | undefined;
  return () => {
    const hasStatus = columns.all(OUTBOX_TABLE).some((c) => c.name === 'status');
    if (!hasStatus) return undefined;
    counts ??= sqlite.prepare(`SELECT status, count(*) AS n FROM ${OUTBOX_TABLE} WHERE status IN ('pending', 'failed') GROUP BY status`);
    const rows = counts.all();
    const of = (s: string) => rows.find((r) => r.status === s)?.n ?? 0;
    return { pending: of('pending'), failed: of('failed') };
  };
}
