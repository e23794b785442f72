// Which handler answers a request: /healthz, /metrics, and a webhook URL (GET: CRC, POST: a
// delivery). The only place where an error thrown by a route becomes an answer (refusalOf).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refusalOf } from '../refusal.js';
import { crcRoute } from './crc.js';
import { deliveryRoute } from './delivery.js';
import { remoteOf, send, type RouteDeps, type RouteRequest, type WebhookRoute } from './deps.js';
import { healthRoute, metricsRoute } from './health.js';

export const WEBHOOK_PATH = /^\/webhooks\/twitter\/([^/]*)\/?$/;

export function createRouter(d: RouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === '/healthz' || path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(d, res, 405, { error: 'use GET' }, { allow: 'GET' });
      return path === '/healthz' ? healthRoute(d, res, q !== -1 && new URLSearchParams(url.slice(q + 1)).has('verbose')) : metricsRoute(d, res);
    }
    const m = WEBHOOK_PATH.exec(path);
    if (!m) {
      d.metrics.httpRejected('not_found');
      return send(d, res, 404, { error: 'not found' });
    }
    const route = req.method === 'GET' ? crcRoute : req.method === 'POST' ? deliveryRoute : undefined;
    if (!route) {
      d.metrics.httpRejected('method_not_allowed');
      return send(d, res, 405, { error: 'use GET (CRC) or POST (deliveries)' }, { allow: 'GET, POST' });
    }
    // ids are digits; anything else is simply not found
    const r: RouteRequest = { req, res, rawId: m[1]!, query: q === -1 ? '' : url.slice(q + 1), started: performance.now(), remote: remoteOf(req, d.trustedProxies), bodyRead: false };
    run(d, route, r).catch((err) => d.log.error('unexpected error while refusing a request', err));
  };
}

async function run(d: RouteDeps, route: WebhookRoute, r: RouteRequest): Promise<void> {
  let refusal;
  try {
    refusal = await route.handle(d, r);
  } catch (err) {
    refusal = refusalOf(err, r.row?.id);
  }
  if (!refusal) return;
  if (refusal.logAs) d.log.error(refusal.logAs, refusal.cause);
  if (r.res.headersSent) return; // answered before it failed: nothing more to say
  route.refuse(d, r, refusal);
}
