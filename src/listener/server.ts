// The HTTP side of `omni listen`: routing, CRC answers, signed deliveries into the intake pipeline
// through the group committer, health, metrics, and a graceful close. Twitter retries anything not
// answered 200 within 3 s, so every refusal is cheap, and 200 means "committed with synchronous=FULL".
// Hostile clients are bounded: CRC tokens must look like Twitter's (no signing oracle), headers and
// bodies have deadlines, and connections past a cap are answered 503.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createIntakeStore, isDatabaseUnavailable, type IntakeInteractionRow, type IntakeStore } from '../db/intake.js';
import type BetterSqlite3 from 'better-sqlite3';
import type { SecretBox } from '../secrets.js';
import { crcResponseToken, SIGNATURE_HEADER, verifySignature } from '../twitter/signature.js';
import { crcTokenRefusal, PROBE_USER_AGENT } from '../twitter/crc.js';
import { createWebhookEventWriter } from '../db/webhook-events.js';
import { RETRYABLE_WRITE_BUSY_MS, withBusyTimeout } from '../db/pragmas.js';
import { DeliveryParseError, parseDelivery } from '../intake/parse.js';
import { accountMismatch, type EventResult } from '../intake/pipeline.js';
import { createOutboxStore } from '../db/outbox.js';
import { DEFAULT_IDLE_MS } from '../helper/conversation.js';
import { BODY_TIMEOUT_MS, BodyTimeout, BodyTooLarge, declaredTooLarge, MAX_BODY_BYTES, readBody } from './body.js';
import { createGroupCommitter, type GroupCommitter } from './group-commit.js';
import { inlineWriter, writeJobInteraction, type IntakeWriter, type WriteJob } from './intake-writer.js';
import { createSecretCache } from './secrets-cache.js';
import type { ListenerLog } from './log.js';
import { createListenerMetrics, type CrcRefusal, type DeliveryRejection, type ListenerMetrics } from './metrics.js';
import { CONTENT_TYPE } from './prometheus.js';
import { createEventJournal, type EventJournal } from './event-journal.js';

export const WEBHOOK_PATH = /^\/webhooks\/twitter\/([^/]*)\/?$/;

/** Limits against slow and abusive clients. Internal knobs: tests shrink them to stay fast. */
export interface ListenerLimits {
  /** Open connections answered normally; the ones past it get 503 and are closed. */
  maxConnections: number;
  /** The request line and headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** A delivery body must be complete this long after its headers. */
  bodyTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: ListenerLimits = {
  // Twitter opens a handful of connections, a reverse proxy a pool; 512 stays clear of the usual
  // 1024 open-file limit with room for the database and the Twitter client.
  maxConnections: 512,
  headersTimeoutMs: 5_000,
  bodyTimeoutMs: BODY_TIMEOUT_MS,
  keepAliveTimeoutMs: 5_000,
};

export interface ListenerOptions {
  sqlite: BetterSqlite3.Database;
  box: SecretBox;
  log: ListenerLog;
  host: string;
  /** 0 picks a free port; the bound one is in Listener.port. */
  port: number;
  dbPath: string;
  maxBodyBytes?: number;
  now?: () => Date;
  limits?: Partial<ListenerLimits>;
  /** Shared with the watchdog so /metrics shows its checks; created when absent. */
  metrics?: ListenerMetrics;
  /** A Helper conversation idle this long starts over (default 30 min). */
  helperIdleMs?: number;
  /** Where write transactions run; default: inline on `sqlite`. `omni listen` passes a worker thread. */
  writer?: IntakeWriter;
}

export interface Listener {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly committer: GroupCommitter<WriteJob, EventResult[]>;
  readonly metrics: ListenerMetrics;
  /** Where CRCs (and the watchdog's checks) are recorded; still usable after close. */
  readonly events: EventJournal;
  /** Stops accepting, lets in-flight requests finish for up to graceMs, then drops what remains. */
  close(graceMs: number): Promise<{ forced: boolean }>;
}

interface Json {
  [key: string]: unknown;
}

export async function startListener(opts: ListenerOptions): Promise<Listener> {
  const store: IntakeStore = createIntakeStore(opts.sqlite);
  const metrics = opts.metrics ?? createListenerMetrics();
  const limits: ListenerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const writer = opts.writer ?? inlineWriter(opts.sqlite, { idleMs: opts.helperIdleMs ?? DEFAULT_IDLE_MS });
  // Timed around the writer rather than inside it: the size and duration of each transaction
  // (fsync included), whether it runs inline or on the writer thread.
  const timedWrite = (jobs: WriteJob[]) => {
    const started = performance.now();
    const done = () => metrics.commitBatch(jobs.length, performance.now() - started);
    const results = writer.write(jobs);
    if (results instanceof Promise) return results.finally(done);
    done();
    return results;
  };
  const committer = createGroupCommitter(timedWrite, { maxInFlight: writer.maxInFlight ?? 1 });
  const outbox = createOutboxStore(opts.sqlite);
  const secrets = createSecretCache(opts.box);
  const log = opts.log;
  const now = opts.now ?? (() => new Date());
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const writeEvents = createWebhookEventWriter(opts.sqlite);
  const events = createEventJournal({
    // Kept and tried again at the next flush if the lock is not free at once (see withBusyTimeout).
    write: (batch, final) => (final ? writeEvents(batch) : withBusyTimeout(opts.sqlite, RETRYABLE_WRITE_BUSY_MS, () => writeEvents(batch))),
    onError: (err) => log.error('cannot record CRCs in the database (kept for the next try)', err),
    onDropped: (n) => metrics.eventsDropped(n),
  });
  metrics.gauge('omni_outbox_messages', 'Outbound DMs in the outbox by status (pending, sending, failed).', () => {
    const c = outbox.counts();
    return (['pending', 'sending', 'failed'] as const).map((status) => ({ labels: { status }, value: c[status] }));
  });
  let openConnections = 0;
  metrics.gauge('omni_http_open_connections', 'Connections open right now.', () => [{ value: openConnections }]);
  /** Sockets accepted past limits.maxConnections: their first request is answered 503. */
  const overLimit = new WeakSet<Socket>();
  const warnedUnknownAccount = new Set<number>();
  let closing = false;

  const send = (res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    const h: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers };
    if (closing) h.connection = 'close'; // do not keep a connection alive past shutdown
    res.writeHead(status, h);
    res.end(text);
  };

  /** Answers and then closes the connection: used when the body was not (fully) read. */
  const sendAndClose = (req: IncomingMessage, res: ServerResponse, status: number, body: Json) => {
    res.on('finish', () => req.destroy());
    send(res, status, body, { connection: 'close' });
  };

  const remoteOf = (req: IncomingMessage) => (req.headers['x-forwarded-for'] as string | undefined)?.split(',')[0]?.trim() ?? req.socket.remoteAddress;

  /** The live interaction named by the path, or undefined (then 404 has been answered). */
  const lookup = (raw: string): IntakeInteractionRow | undefined => (/^\d{1,15}$/.test(raw) ? store.interaction(Number(raw)) : undefined);

  const secretOf = (row: IntakeInteractionRow): string => secrets.apiSecret(row.id, row.api_secret_key_enc);

  function healthz(res: ServerResponse) {
    if (closing) return send(res, 503, { status: 'shutting down' });
    try {
      store.ping();
      send(res, 200, { status: 'ok' });
    } catch (err) {
      send(res, 503, { status: 'database unavailable', error: (err as Error).message });
    }
  }

  function crc(req: IncomingMessage, res: ServerResponse, rawId: string, query: string) {
    const remote = remoteOf(req);
    let row: IntakeInteractionRow | undefined;
    const refuse = (status: number, reason: CrcRefusal, message: string) => {
      send(res, status, { error: message });
      metrics.crcRefused(reason);
      log.crc({ interaction: row ? { id: row.id, name: row.name } : null, interactionId: rawId, status, reason: message, remote });
      // Recorded for a known interaction only: refusals to made-up ids would let anyone fill the table.
      if (row) events.record({ interactionId: row.id, at: now().toISOString(), kind: 'crc_refused', result: reason, detail: message, remote: remote ?? null });
    };
    try {
      row = lookup(rawId);
    } catch (err) {
      log.error('cannot read the interaction', err);
      return refuse(503, 'db_unavailable', 'database unavailable');
    }
    if (!row) return refuse(404, 'unknown_interaction', `no interaction ${rawId}`);
    // Only tokens shaped like Twitter's are signed: the answer is the delivery MAC (src/twitter/crc.ts).
    const token = new URLSearchParams(query).get('crc_token');
    const refusal = crcTokenRefusal(token);
    if (refusal) return refuse(400, refusal.reason, refusal.message);
    let secret: string;
    try {
      secret = secretOf(row);
    } catch (err) {
      log.error(`cannot decrypt the API secret of interaction ${row.id}`, err);
      return refuse(503, 'secret_unreadable', 'the interaction secret cannot be read');
    }
    send(res, 200, { response_token: crcResponseToken(secret, token!) });
    // Answered first, recorded after: Twitter's 3 s budget is for the answer, not our bookkeeping.
    metrics.crcAnswered();
    log.crc({ interaction: { id: row.id, name: row.name }, status: 200, remote });
    // omni doctor's own probe proves the route works but is no sign of life from Twitter.
    if (req.headers['user-agent'] !== PROBE_USER_AGENT) {
      events.record({ interactionId: row.id, at: now().toISOString(), kind: 'crc_answered', result: 'answered', remote: remote ?? null });
    }
  }

  async function delivery(req: IncomingMessage, res: ServerResponse, rawId: string) {
    const started = performance.now();
    const remote = remoteOf(req);
    let row: IntakeInteractionRow | undefined;
    const refuse = (code: DeliveryRejection, status: number, reason: string, close = false) => {
      const body = { error: reason };
      if (close) sendAndClose(req, res, status, body);
      else send(res, status, body);
      metrics.deliveryRejected(code);
      log.delivery({ interaction: row ? { id: row.id, name: row.name } : null, interactionId: rawId, status, reason, ms: performance.now() - started, remote });
    };
    try {
      row = lookup(rawId);
    } catch (err) {
      log.error('cannot read the interaction', err);
      return refuse('db_unavailable', 503, 'database unavailable', true);
    }
    if (!row) return refuse('unknown_interaction', 404, 'unknown or deleted interaction', true);
    if (declaredTooLarge(req, maxBody)) return refuse('too_large', 413, `body over ${maxBody} bytes`, true);
    const signature = req.headers[SIGNATURE_HEADER];
    // Refused before reading the body: an unsigned request costs nothing.
    if (typeof signature !== 'string' || signature === '') return refuse('missing_signature', 401, `missing ${SIGNATURE_HEADER}`, true);

    let raw: Buffer;
    try {
      raw = await readBody(req, maxBody, limits.bodyTimeoutMs);
    } catch (err) {
      if (err instanceof BodyTooLarge) return refuse('too_large', 413, `body over ${maxBody} bytes`, true);
      if (err instanceof BodyTimeout) return refuse('body_timeout', 408, `body not complete within ${limits.bodyTimeoutMs / 1000} s`, true);
      return refuse('client_aborted', 400, (err as Error).message, true);
    }
    let secret: string;
    try {
      secret = secretOf(row);
    } catch (err) {
      log.error(`cannot decrypt the API secret of interaction ${row.id}`, err);
      return refuse('secret_unreadable', 503, 'the interaction secret cannot be read');
    }
    // Checked before any JSON parsing: a forged body costs one HMAC, never the parser.
    if (!verifySignature(secret, raw, signature)) return refuse('bad_signature', 401, 'bad signature');

    const body = raw.toString('utf8');
    let parsed;
    try {
      parsed = parseDelivery(body);
    } catch (err) {
      if (err instanceof DeliveryParseError) return refuse('bad_json', 400, err.message);
      throw err;
    }
    const mismatch = accountMismatch(row, parsed);
    if (mismatch) return refuse('account_mismatch', 403, mismatch);
    if (row.account_user_id === null && !warnedUnknownAccount.has(row.id)) {
      warnedUnknownAccount.add(row.id);
      log.warn(`interaction #${row.id} has no known account yet, so for_user_id is not checked`, {
        interaction: row.id,
        hint: `run: omni webhook register ${row.id}`,
      });
    }

    const interaction = row;
    let results: EventResult[];
    try {
      results = await committer.submit({ interaction: writeJobInteraction(interaction), body, now: now().toISOString() });
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        log.error('the database refused the write; answering 503 so that Twitter retries', err);
        return refuse('db_unavailable', 503, 'database unavailable, retry later');
      }
      log.error(`delivery to interaction #${interaction.id} failed`, err);
      return refuse('internal_error', 500, 'internal error');
    }
    send(res, 200, { results });
    metrics.deliveryAccepted(results.map((r) => r.outcome));
    log.delivery({ interaction: { id: interaction.id, name: interaction.name }, status: 200, results, ms: performance.now() - started, remote });
  }

  function metricsEndpoint(res: ServerResponse) {
    const text = metrics.render();
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text), ...(closing ? { connection: 'close' } : {}) });
    res.end(text);
  }

  function route(req: IncomingMessage, res: ServerResponse) {
    if (overLimit.has(req.socket)) {
      metrics.httpRejected('too_many_connections');
      res.setHeader('retry-after', '1');
      return sendAndClose(req, res, 503, { error: 'too many connections, retry later' });
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET' }, { allow: 'GET' });
      return healthz(res);
    }
    if (path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET' }, { allow: 'GET' });
      return metricsEndpoint(res);
    }
    const m = WEBHOOK_PATH.exec(path);
    if (!m) {
      metrics.httpRejected('not_found');
      return send(res, 404, { error: 'not found' });
    }
    const rawId = m[1]!; // ids are digits; anything else is simply not found
    if (req.method === 'GET') return crc(req, res, rawId, q === -1 ? '' : url.slice(q + 1));
    if (req.method === 'POST') {
      delivery(req, res, rawId).catch((err) => {
        log.error('unexpected error in a delivery', err);
        if (!res.headersSent) sendAndClose(req, res, 500, { error: 'internal error' });
      });
      return;
    }
    metrics.httpRejected('method_not_allowed');
    send(res, 405, { error: 'use GET (CRC) or POST (deliveries)' }, { allow: 'GET, POST' });
  }

  const server = http.createServer(
    {
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      // Node's own backstop for the whole request; the body deadline (readBody) answers 408 first.
      requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs + 1_000,
      // Node checks the two timeouts above on this period (default 30 s, which would let a slow
      // client hold a connection for up to twice as long as configured).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    route,
  );
  // Past the cap, a connection is still accepted so that its client gets a clear 503 instead of a
  // reset, but it may not linger: it must send its request within a second. Past twice the cap Node
  // closes new connections at once ('drop'), so a flood cannot exhaust file descriptors.
  server.maxConnections = limits.maxConnections * 2;
  server.on('connection', (socket: Socket) => {
    openConnections++;
    socket.once('close', () => openConnections--);
    if (openConnections > limits.maxConnections) {
      overLimit.add(socket);
      socket.setTimeout(1_000, () => socket.destroy());
    }
  });
  server.on('drop', () => metrics.httpRejected('connection_dropped'));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A client that hung up is not an error of its request.
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    // Malformed HTTP, header and request timeouts: answer when the socket can still take it.
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT';
    metrics.httpRejected(timedOut ? 'request_timeout' : 'malformed');
    socket.end(`HTTP/1.1 ${timedOut ? '408 Request Timeout' : '400 Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}`;
  log.listening({ url, host: address.address, port: address.port, dbPath: opts.dbPath, interactions: store.liveInteractions() });

  return {
    url,
    host: address.address,
    port: address.port,
    committer,
    metrics,
    events,
    async close(graceMs) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const first = await Promise.race([closed.then(() => 'closed' as const), deadline]);
      clearTimeout(timer);
      if (first === 'timeout') {
        server.closeAllConnections();
        await closed;
      }
      // Whatever was submitted before the sockets went away is still committed.
      await committer.drain();
      await writer.close();
      events.close();
      return { forced: first === 'timeout' };
    },
  };
}
