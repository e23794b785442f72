// Signed Twitter deliveries for tests and benchmarks: build a body, sign its exact bytes, post it.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { signBody, SIGNATURE_HEADER } from '../../src/twitter/signature.js';
import { dmDeliveryBody, newEventId, type DeliverySpec, type DmSpec } from '../../src/twitter/deliveries.js';
import { ROOT } from './cli.js';

export { dmDeliveryBody, newEventId, type DeliverySpec, type DmSpec };

export const FIXTURES = path.resolve(ROOT, 'tests/fixtures/twitter');
export const FIXTURE_SECRET = 'DDD';

export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, name));
}

/** The account the seed helper gives its interaction (and the zammad fixtures are addressed to). */
export const ACCOUNT_ID = '123';

/** One inbound DM to ACCOUNT_ID, with the sender's profile unless profile is false. */
export function inboundDm(opts: { senderId: string; text: string; eventId?: string; screenName?: string; profile?: boolean; forUserId?: string }): string {
  const screenName = opts.screenName ?? `user${opts.senderId}`;
  return dmDeliveryBody({
    forUserId: opts.forUserId ?? ACCOUNT_ID,
    events: [{ senderId: opts.senderId, recipientId: ACCOUNT_ID, text: opts.text, eventId: opts.eventId ?? newEventId() }],
    ...(opts.profile === false ? {} : { users: { [opts.senderId]: { name: screenName.toUpperCase(), screenName } } }),
  });
}

export interface PostResult {
  status: number;
  body: any;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** POSTs a body to /webhooks/twitter/<id>, signed with `secret` unless `signature` is given (null: no header). */
export function postDelivery(
  baseUrl: string,
  interactionId: number | string,
  body: string | Buffer,
  opts: { secret?: string; signature?: string | null; headers?: Record<string, string>; localAddress?: string } = {},
): Promise<PostResult> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const signature = opts.signature === undefined ? signBody(opts.secret ?? FIXTURE_SECRET, bytes) : opts.signature;
  const url = new URL(`/webhooks/twitter/${interactionId}`, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        // From another local address (127.0.0.2, …): a fresh connection bound there.
        ...(opts.localAddress ? { agent: false, localAddress: opts.localAddress } : { agent }),
        headers: {
          'content-type': 'application/json',
          'content-length': bytes.length,
          ...(signature !== null ? { [SIGNATURE_HEADER]: signature } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

export async function getJson(url: string, localAddress?: string): Promise<{ status: number; body: any }> {
  if (localAddress) return getFrom(url, localAddress);
  const res = await fetch(url);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

/** A GET on a fresh connection from `localAddress` (another loopback address, as another client). */
function getFrom(url: string, localAddress: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, localAddress }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Runs `fn` over items with at most `concurrency` in flight; results in input order. */
export async function inParallel<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
