// The HTTP server's limits against slow and abusive clients: a connection cap (past it, a clear 503
// rather than a reset), header and request deadlines, keep-alive, and answers to malformed HTTP.
// The body's own size and deadline are read in body.ts.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BODY_TIMEOUT_MS } from './body.js';
import { normalizeIp } from './client-address.js';
import type { ListenerMetrics } from './metrics.js';

/** Limits against slow and abusive clients. Internal knobs: tests shrink them to stay fast. */
export interface ListenerLimits {
  /** Open connections answered normally; past it only /healthz and CRCs are answered, the rest get 503 and are closed. */
  maxConnections: number;
  /** Open connections from one client address (a trusted proxy is exempt); past it, 503 and closed. */
  maxConnectionsPerIp: number;
  /** Bytes of bodies read before their signature is checked, in total. */
  maxUnverifiedBytes: number;
  /** The same, per client address; a body declaring more than this is refused 413 unread. */
  maxUnverifiedBytesPerIp: number;
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
  // Twitter delivers from a handful of connections per address: one address holding more than a
  // few dozen is a flood, and may never take the whole listener (global cap) away from the others.
  maxConnectionsPerIp: 64,
  // Twitter's deliveries are a few KB; a body of the maximum size (1 MiB) fits twice per address,
  // and 32 of them at once bound what unauthenticated clients can make the listener hold.
  maxUnverifiedBytes: 32 * 1024 * 1024,
  maxUnverifiedBytesPerIp: 2 * 1024 * 1024,
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
const TOO_MANY_FROM_YOU = JSON.stringify({ error: 'too many connections from your address, retry later' });

export interface ServerPolicy {
  /** Peers whose connections count only toward the global cap (a reverse proxy carries many clients). */
  exempt(address: string): boolean;
  /** Requests still answered past the global cap: cheap, bodiless, and what keeps the webhook valid (/healthz, CRC). */
  priority(req: IncomingMessage): boolean;
}

/** An HTTP server with these limits; `handler` sees only the requests within them. */
export function createLimitedServer(
  limits: ListenerLimits,
  metrics: ListenerMetrics,
  policy: ServerPolicy,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): LimitedServer {
  const overLimit = new WeakMap<Socket, 'global' | 'address'>();
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
      const over = overLimit.get(req.socket);
      if (over === undefined) return handler(req, res);
      res.on('finish', () => req.destroy());
      // Headroom: past the global cap, /healthz and CRCs are still answered (then the connection is
      // closed), so a flood does not trip supervisors nor get the webhook marked invalid.
      if (over === 'global' && policy.priority(req)) {
        res.setHeader('connection', 'close');
        return handler(req, res);
      }
      metrics.httpRejected(over === 'global' ? 'too_many_connections' : 'too_many_connections_per_ip');
      const body = over === 'global' ? TOO_MANY : TOO_MANY_FROM_YOU;
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'retry-after': '1', connection: 'close' });
      res.end(body);
    },
  );
  let open = 0;
  const perAddress = new Map<string, number>();
  // Past the cap, a connection is still accepted so that its client gets a clear 503 instead of a
  // reset, but it may not linger: it must send its request within a second. Past twice the cap Node
  // closes new connections at once ('drop'), so a flood cannot exhaust file descriptors; past twice
  // its own cap, an address's new connections are closed at once too.
  server.maxConnections = limits.maxConnections * 2;
  server.on('connection', (socket: Socket) => {
    const address = normalizeIp(socket.remoteAddress ?? '') ?? 'unknown';
    const mine = (perAddress.get(address) ?? 0) + 1;
    const limited = !policy.exempt(address);
    if (limited && mine > limits.maxConnectionsPerIp * 2) {
      metrics.httpRejected('too_many_connections_per_ip');
      return void socket.destroy();
    }
    open++;
    perAddress.set(address, mine);
    socket.once('close', () => {
      open--;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    const over = limited && mine > limits.maxConnectionsPerIp ? 'address' : open > limits.maxConnections ? 'global' : undefined;
    if (over) {
      overLimit.set(socket, over);
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
