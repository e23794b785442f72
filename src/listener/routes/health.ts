// GET /healthz (a load balancer's probe: is the database answering?) and GET /metrics (Prometheus).
import type { ServerResponse } from 'node:http';
import { CONTENT_TYPE } from '../prometheus.js';
import { send, type RouteDeps } from './deps.js';

export function healthRoute(d: RouteDeps, res: ServerResponse): void {
  if (d.closing()) return send(d, res, 503, { status: 'shutting down' });
  const problem = databaseProblem(d);
  if (problem === undefined) send(d, res, 200, { status: 'ok' });
  else send(d, res, 503, { status: 'database unavailable', error: problem });
}

/** Why the database does not answer a cheap read, or undefined when it does. */
function databaseProblem(d: RouteDeps): string | undefined {
  try {
    d.store.ping();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function metricsRoute(d: RouteDeps, res: ServerResponse): void {
  const text = d.metrics.render();
  res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text), ...(d.closing() ? { connection: 'close' } : {}) });
  res.end(text);
}
