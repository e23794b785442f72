// The listener's writer thread (bundled as dist/intake-worker.js): its own connection to the
// database file, one transaction per batch of deliveries, each in a SAVEPOINT. It answers a batch
// only after COMMIT returned, i.e. after the fsync of synchronous=FULL.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { configureConnection } from '../db/pragmas.js';
import { batchFromWire, errorToWire, inlineWriter, resultsToWire, type WireBatch, type WriterSettings } from './intake-writer.js';

const port = parentPort!;
const { dbPath, busyTimeoutMs, settings } = workerData as { dbPath: string; busyTimeoutMs: number; settings: WriterSettings };

let db: BetterSqlite3.Database | undefined;
try {
  db = new BetterSqlite3(dbPath, { fileMustExist: true });
  configureConnection(db, { busyTimeoutMs });
  const writer = inlineWriter(db, settings);
  port.on('message', (m: { type: 'write'; seq: number; batch: WireBatch } | { type: 'close' }) => {
    if (m.type === 'close') {
      db?.close();
      port.close(); // nothing else keeps the thread alive: it exits
      return;
    }
    const jobs = batchFromWire(m.batch);
    // Each job's answer as text, rendered here: the main thread only concatenates it.
    port.postMessage({ type: 'results', seq: m.seq, results: resultsToWire(writer.write(jobs), jobs) });
  });
  port.postMessage({ type: 'ready' });
} catch (err) {
  db?.close();
  port.postMessage({ type: 'failed', error: errorToWire(err) });
  port.close();
}
