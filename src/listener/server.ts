// The HTTP side of `omni listen`: routing, CRC answers, signed deliveries into the intake pipeline
// through the group committer, health, and a graceful close. Twitter retries anything not answered
// 200 within 3 s, so every refusal is cheap, and 200 means "committed with synchronous=FULL".
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createIntakeStore, isDatabaseUnavailable, type IntakeInteractionRow, type IntakeStore } from '../db/intake.js';
import type BetterSqlite3 from 'better-sqlite3';
import type { SecretBox } from '../secrets.js';
import { crcResponseToken, SIGNATURE_HEADER, verifySignature } from '../twitter/signature.js';
import { DeliveryParseError, parseDelivery } from '../intake/parse.js';
import { accountMismatch, type EventResult } from '../intake/pipeline.js';
import { BodyTooLarge, declaredTooLarge, MAX_BODY_BYTES, readBody } from './body.js';
import { createGroupCommitter, type GroupCommitter } from './group-commit.js';
import { inlineWriter, writeJobInteraction, type IntakeWriter, type WriteJob } from './intake-writer.js';
import { createSecretCache } from './secrets-cache.js';
import type { ListenerLog } from './log.js';

export const WEBHOOK_PATH = /^\/webhooks\/twitter\/([^/]*)\/?$/;

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
  /** Where write transactions run; default: inline on `sqlite`. `omni listen` passes a worker thread. */
  writer?: IntakeWriter;
}

export interface Listener {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly committer: GroupCommitter<WriteJob, EventResult[]>;
  /** Stops accepting, lets in-flight requests finish for up to graceMs, then drops what remains. */
  close(graceMs: number): Promise<{ forced: boolean }>;
}

interface Json {
  [key: string]: unknown;
}

export async function startListener(opts: ListenerOptions): Promise<Listener> {
  const store: IntakeStore = createIntakeStore(opts.sqlite);
  const writer = opts.writer ?? inlineWriter(opts.sqlite);
  const committer = createGroupCommitter(writer.write, { maxInFlight: writer.maxInFlight ?? 1 });
  const secrets = createSecretCache(opts.box);
  const log = opts.log;
  const now = opts.now ?? (() => new Date());
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
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
    try {
      row = lookup(rawId);
    } catch (err) {
      log.error('cannot read the interaction', err);
      return send(res, 503, { error: 'database unavailable' });
    }
    const ref = row ? { id: row.id, name: row.name } : null;
    if (!row) {
      log.crc({ interaction: null, interactionId: rawId, status: 404, reason: 'unknown or deleted interaction', remote });
      return send(res, 404, { error: `no interaction ${rawId}` });
    }
    const token = new URLSearchParams(query).get('crc_token');
    // Issue 8 narrows what a token may look like (the CRC answer is the delivery MAC: an oracle).
    if (!token) {
      log.crc({ interaction: ref, status: 400, reason: 'no crc_token', remote });
      return send(res, 400, { error: 'missing crc_token' });
    }
    let secret: string;
    try {
      secret = secretOf(row);
    } catch (err) {
      log.error(`cannot decrypt the API secret of interaction ${row.id}`, err);
      return send(res, 503, { error: 'the interaction secret cannot be read' });
    }
    send(res, 200, { response_token: crcResponseToken(secret, token) });
    log.crc({ interaction: ref, status: 200, remote });
  }

  async function delivery(req: IncomingMessage, res: ServerResponse, rawId: string) {
    const started = performance.now();
    const remote = remoteOf(req);
    let row: IntakeInteractionRow | undefined;
    const refuse = (status: number, reason: string, close = false) => {
      const body = { error: reason };
      if (close) sendAndClose(req, res, status, body);
      else send(res, status, body);
      log.delivery({ interaction: row ? { id: row.id, name: row.name } : null, interactionId: rawId, status, reason, ms: performance.now() - started, remote });
    };
    try {
      row = lookup(rawId);
    } catch (err) {
      log.error('cannot read the interaction', err);
      return refuse(503, 'database unavailable', true);
    }
    if (!row) return refuse(404, 'unknown or deleted interaction', true);
    if (declaredTooLarge(req, maxBody)) return refuse(413, `body over ${maxBody} bytes`, true);
    const signature = req.headers[SIGNATURE_HEADER];
    // Refused before reading the body: an unsigned request costs nothing.
    if (typeof signature !== 'string' || signature === '') return refuse(401, `missing ${SIGNATURE_HEADER}`, true);

    let raw: Buffer;
    try {
      raw = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLarge) return refuse(413, `body over ${maxBody} bytes`, true);
      return refuse(400, (err as Error).message, true);
    }
    let secret: string;
    try {
      secret = secretOf(row);
    } catch (err) {
      log.error(`cannot decrypt the API secret of interaction ${row.id}`, err);
      return refuse(503, 'the interaction secret cannot be read');
    }
    if (!verifySignature(secret, raw, signature)) return refuse(401, 'bad signature');

    const body = raw.toString('utf8');
    let parsed;
    try {
      parsed = parseDelivery(body);
    } catch (err) {
      if (err instanceof DeliveryParseError) return refuse(400, err.message);
      throw err;
    }
    const mismatch = accountMismatch(row, parsed);
    if (mismatch) return refuse(403, mismatch);
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
        return refuse(503, 'database unavailable, retry later');
      }
      log.error(`delivery to interaction #${interaction.id} failed`, err);
      return refuse(500, 'internal error');
    }
    send(res, 200, { results });
    log.delivery({ interaction: { id: interaction.id, name: interaction.name }, status: 200, results, ms: performance.now() - started, remote });
  }

  const server = http.createServer({ keepAliveTimeout: 5_000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'use GET' }, { allow: 'GET' });
      return healthz(res);
    }
    const m = WEBHOOK_PATH.exec(path);
    if (!m) return send(res, 404, { error: 'not found' });
    const rawId = m[1]!; // ids are digits; anything else is simply not found
    if (req.method === 'GET') return crc(req, res, rawId, q === -1 ? '' : url.slice(q + 1));
    if (req.method === 'POST') {
      delivery(req, res, rawId).catch((err) => {
        log.error('unexpected error in a delivery', err);
        if (!res.headersSent) sendAndClose(req, res, 500, { error: 'internal error' });
      });
      return;
    }
    send(res, 405, { error: 'use GET (CRC) or POST (deliveries)' }, { allow: 'GET, POST' });
  });
  server.on('clientError', (err, socket) => {
    // Malformed HTTP, header timeouts: answer 400 when the socket can still take it.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy(err);
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
      return { forced: first === 'timeout' };
    },
  };
}
