// A sender that behaves like Twitter's Account Activity delivery: POST a signed delivery, and when
// the answer is not 200 (or there is none: refused, reset, timed out) retry on a schedule. Twitter
// retries after 20 s and 60 s and then gives up; here the schedule is compressed and the sender does
// not give up, so that at the end every delivery has been answered 200 exactly when it is stored.
import http from 'node:http';
import { signBody, SIGNATURE_HEADER } from '../../src/twitter/signature.js';
import { FIXTURE_SECRET } from '../support/deliveries.js';

export interface Attempt {
  status: number | 'error';
  error?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

/** One POST with a deadline (Twitter waits 3 s for an answer). Never throws. */
export function attempt(baseUrl: string, interactionId: number, body: string, timeoutMs = 3_000): Promise<Attempt & { text?: string }> {
  const bytes = Buffer.from(body);
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: Attempt & { text?: string }) => {
      if (!done) {
        done = true;
        resolve(a);
      }
    };
    const req = http.request(
      new URL(`/webhooks/twitter/${interactionId}`, baseUrl),
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': bytes.length, [SIGNATURE_HEADER]: signBody(FIXTURE_SECRET, bytes) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => finish({ status: res.statusCode ?? 0, text }));
        res.on('error', (e) => finish({ status: 'error', error: e.message }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timed out')));
    req.on('error', (e) => finish({ status: 'error', error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(bytes);
  });
}

export interface DeliveryLog {
  /** Every status seen, per delivery. */
  statuses: Array<Attempt['status']>;
  answered200: number;
}

/**
 * Delivers every body until it is answered 200, retrying after `backoffMs` (grown per attempt),
 * with at most `concurrency` in flight. `url()` is read at each attempt (the listener restarts on a
 * new port). With `redeliverShare`, a share of deliveries is sent again after their 200, as Twitter
 * sometimes does: the dedup key must absorb it.
 */
export async function deliverAll(opts: {
  url: () => string;
  interactionId: number;
  bodies: string[];
  concurrency: number;
  backoffMs?: number[];
  redeliverShare?: number;
  deadlineMs: number;
  /** Called after each delivery's first 200 (tests use it to act at a point of the load). */
  onDelivered?: () => void;
}): Promise<DeliveryLog[]> {
  const backoff = opts.backoffMs ?? [10, 50, 150];
  const logs: DeliveryLog[] = opts.bodies.map(() => ({ statuses: [], answered200: 0 }));
  const until = Date.now() + opts.deadlineMs;
  let next = 0;
  const worker = async () => {
    while (next < opts.bodies.length) {
      const i = next++;
      const body = opts.bodies[i]!;
      const log = logs[i]!;
      for (let n = 0; ; n++) {
        if (Date.now() > until) throw new Error(`delivery ${i} still not answered 200 at the deadline: ${log.statuses.join(', ')}`);
        const a = await attempt(opts.url(), opts.interactionId, body);
        log.statuses.push(a.status);
        if (a.status === 200) {
          log.answered200++;
          if (log.answered200 === 1) opts.onDelivered?.();
          if (opts.redeliverShare && Math.random() < opts.redeliverShare) {
            const again = await attempt(opts.url(), opts.interactionId, body);
            log.statuses.push(again.status);
            if (again.status === 200) log.answered200++;
          }
          break;
        }
        await new Promise((r) => setTimeout(r, backoff[Math.min(n, backoff.length - 1)]));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return logs;
}
