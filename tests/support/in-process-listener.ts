// The real listener started in the test's own process over HTTP on 127.0.0.1, on a seeded database of
// this run's engine (testDatabase(): a temp file, or the test's own PostgreSQL database), with its JSON
// log captured: for tests of routing, refusals and limits. Rows are read through Kysely on both engines.
import { afterEach } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { loadSecretBox } from '../../src/secrets.js';
import { startListener, type Listener } from '../../src/listener/server.js';
import type { ListenerLimits } from '../../src/listener/limits.js';
import type { TrustedProxies } from '../../src/listener/client-address.js';
import type { IntakeWriter } from '../../src/listener/intake-writer.js';
import { createJsonLog } from '../../src/listener/log.js';
import { seedInteraction, type SeedOptions } from './seed.js';
import { testDatabase, testSecretEnv } from './engine.js';
import { queryRows } from './rows.js';

export interface InProcessListener {
  listener: Listener;
  db: Db;
  /** The seeded interaction. */
  id: number;
  /** Every log line so far, parsed. */
  readonly logs: Array<Record<string, any>>;
  /** A SELECT written for both engines (portable SQL), run on the listener's own handle. */
  rows(query: string): Promise<any[]>;
  count(table: string): Promise<number>;
  /** A statement run on the listener's own handle (e.g. another host's `omni interaction delete`). */
  exec(query: string): Promise<void>;
}

let running: InProcessListener | undefined;
afterEach(async () => {
  if (running) {
    await running.listener.close(1000);
    await running.db.close();
    running = undefined;
  }
});

/** Started once per test; closed after it. */
export async function startInProcessListener(
  opts: { seed?: SeedOptions; limits?: Partial<ListenerLimits>; trustedProxies?: TrustedProxies; writer?: (dbPath: string) => Promise<IntakeWriter> } = {},
): Promise<InProcessListener> {
  const dbPath = testDatabase();
  const { id } = await seedInteraction(dbPath, opts.seed);
  const db = await openDatabase(dbPath);
  const lines: string[] = [];
  const log = createJsonLog({ write: (s: string) => lines.push(s) });
  const listener = await startListener({
    db,
    box: loadSecretBox(dbPath, testSecretEnv(dbPath)),
    log,
    host: '127.0.0.1',
    port: 0,
    dbPath: db.path,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.trustedProxies ? { trustedProxies: opts.trustedProxies } : {}),
    ...(opts.writer ? { writer: await opts.writer(dbPath) } : {}),
  });
  running = {
    listener,
    db,
    id,
    get logs() {
      return lines.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    rows: (query) => queryRows(db, query),
    count: async (table) => Number((await queryRows(db, `SELECT count(*) AS n FROM ${table}`))[0].n),
    exec: async (query) => void (await queryRows(db, query)),
  };
  return running;
}
