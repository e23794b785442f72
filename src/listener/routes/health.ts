// GET /healthz (a load balancer's probe: is the database answering?) and GET /metrics (Prometheus).
import type { ServerResponse } from 'node:http';
import { CONTENT_TYPE } from '../prometheus.js';
import { send, type Json, type RouteDeps } from './deps.js';

export function healthRoute(d: RouteDeps, res: ServerResponse, verbose = false): void {
  if (d.closing()) return send(d, res, 503, { status: 'shutting down' });
  const problem = databaseProblem(d);
  if (problem instanceof Promise) {
    problem.then((p) => answerHealth(d, res, verbose, p), (err) => answerHealth(d, res, verbose, (err as Error).message));
    return;
  }
  answerHealth(d, res, verbose, problem);
}

function answerHealth(d: RouteDeps, res: ServerResponse, verbose: boolean, problem: string | undefined): void {
  if (problem !== undefined) return send(d, res, 503, { status: 'database unavailable', error: problem });
  // ?verbose: the accounts' health as this listener last judged it (omni status reads the same).
  // Still 200: /healthz answers "is this process serving?", not "is every X account healthy?".
  const interactions = verbose ? d.accountHealth?.() : undefined;
  if (!verbose) return send(d, res, 200, { status: 'ok' });
  send(d, res, 200, { status: 'ok', healthy: interactions === undefined ? null : interactions.every((i) => (i as { healthy?: boolean }).healthy === true), interactions: (interactions ?? null) as unknown as Json });
}

/** Why the database does not answer a cheap read, or undefined when it does (a promise on PostgreSQL). */
function databaseProblem(d: RouteDeps): string | undefined | Promise<string | undefined> {
  try {
    const pinged = d.ping();
    return pinged instanceof Promise ? pinged.then(() => undefined, (err: unknown) => (err as Error).message) : undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function metricsRoute(d: RouteDeps, res: ServerResponse): void {
  if (d.beforeMetrics) {
    d.beforeMetrics().then(() => renderMetrics(d, res), () => renderMetrics(d, res));
    return;
  }
  renderMetrics(d, res);
}

function renderMetrics(d: RouteDeps, res: ServerResponse): void {
  const text = d.metrics.render();
  res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text), ...(d.closing() ? { connection: 'close' } : {}) });
  res.end(text);
}
