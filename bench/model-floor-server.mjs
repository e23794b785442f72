// The floor of omni's data model on this machine: the durable floor (durable-bare-server.mjs) plus
// what every DM must cost in omni's schema whatever the code around it — the body parsed, the
// requester and its open ticket read, the message inserted under its dedup key (and, for a new
// sender, the requester and ticket created), the ticket's updated_at moved, one JSON log line — with
// omni's OWN prepared statements and connection settings (src/db/intake.ts, src/db/pragmas.ts, via
// bench/.build/omni.js), called straight, in one group-committed transaction per batch on a writer
// thread, synchronous=FULL, 200 after COMMIT. None of omni's pipeline, routing, limits, metrics,
// Helper, erasure or cache checks. Omni's CPU per request divided by this one's is the cost of omni's
// code; this one's divided by the bare server's is the least any implementation of this schema pays.
//
//   node bench/model-floor-server.mjs DB_FILE INTERACTION_ID   (env MODEL_FLOOR_SECRET: the HMAC key;
//   DB_FILE: a database seeded by omni, e.g. by bench/run.mjs)
import fs from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BUILD_DIR } from './lib/build.mjs';
import { answer, serveSignedDeliveries } from './lib/signed-server.mjs';

if (isMainThread) serve();
else await write();

function serve() {
  const [dbFile, interactionId] = process.argv.slice(2);
  const secret = process.env.MODEL_FLOOR_SECRET;
  if (!dbFile || !interactionId || !secret) throw new Error('usage: MODEL_FLOOR_SECRET=… node bench/model-floor-server.mjs DB_FILE INTERACTION_ID');
  const writer = new Worker(new URL(import.meta.url), { workerData: { dbFile, interactionId: Number(interactionId) } });
  let pending = { bodies: [], answers: [] };
  let inFlight = null;
  let logLines = '';
  const flush = () => {
    if (inFlight || pending.bodies.length === 0) return;
    inFlight = pending;
    pending = { bodies: [], answers: [] };
    // As omni hands a batch over: the bodies' bytes in one moved buffer.
    let total = 0;
    for (const b of inFlight.bodies) total += b.length;
    const bytes = Buffer.allocUnsafeSlow(total);
    const ends = [];
    let at = 0;
    for (const b of inFlight.bodies) {
      bytes.set(b, at);
      ends.push((at += b.length));
    }
    writer.postMessage({ bytes: bytes.buffer, ends }, [bytes.buffer]);
  };
  writer.on('message', ({ error, answers }) => {
    const done = inFlight;
    inFlight = null;
    done.answers.forEach(({ res, started }, k) => {
      const body = error ? '{"error":"not stored"}' : `{"results":[${answers[k]}]}`;
      answer(res, error ? 503 : 200, body);
      logLines += JSON.stringify({ level: 30, time: Date.now(), msg: 'delivery', interaction: Number(interactionId), status: error ? 503 : 200, ms: performance.now() - started }) + '\n';
    });
    // One write per turn, as omni's log does.
    setImmediate(() => {
      if (logLines) fs.writeSync(1, logLines);
      logLines = '';
    });
    flush();
  });
  serveSignedDeliveries({
    secret,
    accept: (body, res, started) => {
      pending.bodies.push(body);
      pending.answers.push({ res, started });
      flush();
    },
    writer,
  });
}

async function write() {
  const omni = await import(new URL('omni.js', `file://${BUILD_DIR}`).href);
  const { dbFile, interactionId } = workerData;
  const db = new Database(dbFile, { fileMustExist: true });
  omni.configureConnection(db, { busyTimeoutMs: 5000 });
  const store = omni.createIntakeStore(db);
  const interaction = db.prepare('SELECT unit_id, group_id, activity_id, contact_origin_id FROM interactions WHERE id = ?').get(interactionId);
  const one = (text, at) => {
    const body = JSON.parse(text);
    const e = body.direct_message_events[0];
    const sender = e.message_create.sender_id;
    const user = body.users?.[sender] ?? {};
    const screenName = user.screen_name ?? null;
    const name = user.name ?? null;
    const message = (ticketId) => ({
      ticketId,
      interactionId,
      direction: 'inbound',
      text: e.message_create.message_data.text,
      twitterEventId: e.id,
      senderTwitterId: sender,
      sentAt: new Date(Number(e.created_timestamp)).toISOString(),
      attachments: '[]',
      at,
    });
    const known = store.knownRequester(interactionId, sender);
    if (known && known.ticket_id !== null && known.screen_name === screenName && known.name === name) {
      const id = store.insertMessage(message(known.ticket_id));
      if (id !== undefined) store.touchTicket(known.ticket_id, at);
      return `{"outcome":"${id === undefined ? 'duplicate' : 'appended'}","id":"${e.id}","ticket":${known.ticket_id},"message":${id ?? null}}`;
    }
    const requesterId = store.upsertRequester({ twitterUserId: sender, screenName, name, unitId: interaction.unit_id, groupId: interaction.group_id, at });
    const ticketId =
      known?.ticket_id ??
      store.insertTicket({ interactionId, requesterId, subject: e.message_create.message_data.text.slice(0, 80), unitId: interaction.unit_id, groupId: interaction.group_id, activityId: interaction.activity_id, contactOriginId: interaction.contact_origin_id, contractId: null, at });
    const id = store.insertMessage(message(ticketId));
    return `{"outcome":"new_ticket","id":"${e.id}","requester":${requesterId},"ticket":${ticketId},"message":${id ?? null}}`;
  };
  const batch = db.transaction((texts, at) => texts.map((t) => one(t, at)));
  parentPort.on('message', ({ bytes, ends }) => {
    const all = Buffer.from(bytes);
    const texts = ends.map((end, k) => all.toString('utf8', k === 0 ? 0 : ends[k - 1], end));
    try {
      parentPort.postMessage({ answers: batch.immediate(texts, new Date().toISOString()) });
    } catch (e) {
      parentPort.postMessage({ error: String(e) });
    }
  });
}
