// The HTTP server's limits against slow and abusive clients: a connection cap (past it, a clear 503
// rather than a reset), header and request deadlines, keep-alive, and answers to malformed HTTP.
// The body's own size and deadline are read in body.ts.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BODY_TIMEOUT_MS } from './body.js';
import type { ListenerMetrics } from './metrics.js';

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

export interface LimitedServer {
  server: http.Server;
  /** Connections open right now. */
  openConnections(): number;
}

const TOO_MANY = JSON.stringify({ error: 'too many connections, retry later' });

/** An HTTP server with these limits; `handler` sees only the requests within them. */
export function createLimitedServer(
  limits: ListenerLimits,
  metrics: ListenerMetrics,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): LimitedServer {
  const overLimit = new WeakSet<Socket>();
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
    (req, res) => {
      if (!overLimit.has(req.socket)) return handler(req, res);
      metrics.httpRejected('too_many_connections');
      res.on('finish', () => req.destroy());
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(TOO_MANY), 'retry-after': '1', connection: 'close' });
      res.end(TOO_MANY);
    },
  );
  let open = 0;
  // Past the cap, a connection is still accepted so that its client gets a clear 503 instead of a
  // reset, but it may not linger: it must send its request within a second. Past twice the cap Node
  // closes new connections at once ('drop'), so a flood cannot exhaust file descriptors.
  server.maxConnections = limits.maxConnections * 2;
  server.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
    if (open > limits.maxConnections) {
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
  return { server, openConnections: () => open };
}
