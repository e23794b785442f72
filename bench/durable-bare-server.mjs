// The floor of a durable intake on this machine: the bare server (bare-server.mjs) plus the least a
// webhook receiver must do before it may answer 200 — check the body's HMAC signature and make the
// delivery durable. A worker thread inserts one row per delivery into SQLite (WAL,
// synchronous=FULL) in group-committed batches: while it commits one batch the main thread
// collects the next, and each delivery is answered 200 only after the COMMIT that holds it. No
// parsing, routing, dedup or logging: omni's CPU per request divided by this one's is omni's own work,
// this one's divided by the bare server's is the price of durability itself.
//
//   node bench/durable-bare-server.mjs DB_FILE   (env DURABLE_BARE_SECRET: the HMAC key)
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { answer, serveSignedDeliveries } from './lib/signed-server.mjs';

if (isMainThread) serve();
else write();

function serve() {
  const dbFile = process.argv[2];
  const secret = process.env.DURABLE_BARE_SECRET;
  if (!dbFile || !secret) throw new Error('usage: DURABLE_BARE_SECRET=… node bench/durable-bare-server.mjs DB_FILE');
  const writer = new Worker(new URL(import.meta.url), { workerData: { dbFile } });
  let pending = { bodies: [], answers: [] }; // collected while the writer commits the batch in flight
  let inFlight = null;

  const flush = () => {
    if (inFlight || pending.bodies.length === 0) return;
    inFlight = pending;
    pending = { bodies: [], answers: [] };
    writer.postMessage(inFlight.bodies);
  };
  writer.on('message', (err) => {
    const done = inFlight;
    inFlight = null;
    for (const res of done.answers) answer(res, err ? 503 : 200, err ? '{"error":"not stored"}' : '{"stored":true}');
    flush();
  });
  serveSignedDeliveries({
    secret,
    accept: (body, res) => {
      pending.bodies.push(body.toString('utf8'));
      pending.answers.push(res);
      flush();
    },
    writer,
  });
}

function write() {
  const db = new Database(workerData.dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO deliveries (received_at, body) VALUES (?, ?)');
  const batch = db.transaction((bodies) => {
    const now = Date.now();
    for (let i = 0; i < bodies.length; i++) insert.run(now, bodies[i]);
  });
  parentPort.on('message', (bodies) => {
    try {
      batch.immediate(bodies); // BEGIN IMMEDIATE … COMMIT (fsync of the WAL under synchronous=FULL)
      parentPort.postMessage(null);
    } catch (e) {
      parentPort.postMessage(String(e));
    }
  });
}
