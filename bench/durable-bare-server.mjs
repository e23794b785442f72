// The floor of a durable intake on this machine: the bare server (bare-server.mjs) plus the least a
// webhook receiver must do before it may answer 200 — check the body's HMAC signature and make the
// delivery durable. A worker thread inserts one row per delivery into SQLite (WAL,
// synchronous=FULL) in group-committed batches: while it commits one batch the main thread
// collects the next, and each delivery is answered 200 only after the COMMIT that holds it. No
// parsing, routing, dedup or logging: omni's CPU per request divided by this one's is omni's own work,
// this one's divided by the bare server's is the price of durability itself.
//
//   node bench/durable-bare-server.mjs DB_FILE   (env DURABLE_BARE_SECRET: the HMAC key)
import crypto from 'node:crypto';
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const SIGNATURE_HEADER = 'x-twitter-webhooks-signature';

if (isMainThread) serve();
else write();

function serve() {
  const dbFile = process.argv[2];
  const secret = process.env.DURABLE_BARE_SECRET;
  if (!dbFile || !secret) throw new Error('usage: DURABLE_BARE_SECRET=… node bench/durable-bare-server.mjs DB_FILE');
  const key = Buffer.from(secret);
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
  writer.on('error', (e) => {
    console.error(e);
    process.exit(1);
  });

  const server = http.createServer({ keepAliveTimeout: 5_000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const expected = Buffer.from('sha256=' + crypto.createHmac('sha256', key).update(body).digest('base64'));
      const given = Buffer.from(String(req.headers[SIGNATURE_HEADER] ?? ''));
      if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return answer(res, 401, '{"error":"bad signature"}');
      pending.bodies.push(body.toString('utf8'));
      pending.answers.push(res);
      flush();
    });
  });
  server.listen(0, '127.0.0.1', () => {
    // Same start-up line shape as omni listen's JSON log, so one spawner serves all three servers.
    process.stdout.write(JSON.stringify({ msg: `listening on http://127.0.0.1:${server.address().port}` }) + '\n');
  });
  process.on('SIGTERM', () => server.close(() => writer.terminate().then(() => process.exit(0))));
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
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
