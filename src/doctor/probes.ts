// The two HTTP probes of the doctor: a CRC through the public callback URL (does the internet reach
// this omni, with the right secret?) and a GET of the Helper endpoint (is the bot up?). Both use
// the injected fetch, never follow redirects (Twitter does not), and always end within their limit.
import crypto from 'node:crypto';
import { crcResponseToken } from '../twitter/signature.js';

export type ProbeResult =
  /** An HTTP answer arrived; body is read only for the CRC. */
  | { kind: 'answer'; status: number; ms: number; body: string; location: string | null }
  | { kind: 'timeout'; ms: number }
  | { kind: 'unreachable'; ms: number; reason: string };

/**
 * A token shaped like Twitter's: 48 characters of letters, digits, '-' and '_'. Issue 8 makes the
 * listener refuse tokens that do not look like Twitter's, so a probe must not send anything else.
 */
export function probeCrcToken(): string {
  return crypto.randomBytes(36).toString('base64url');
}

/** Why fetch failed, in the words of the socket: "ECONNREFUSED 127.0.0.1:9", "ENOTFOUND host", a TLS error. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause ?? err;
  const c = cause as (Error & { code?: string; errors?: Error[] }) | undefined;
  // A refused dual-stack connect arrives as an AggregateError with an empty message.
  const message = c?.message || (c instanceof AggregateError ? c.errors.map((e) => e.message).join('; ') : '') || String(cause);
  return c?.code && !message.includes(c.code) ? `${c.code} ${message}` : message;
}

// Sent with every probe so that logs, and a listener recording the CRCs it receives from Twitter,
// can tell the doctor's requests apart: a probe must not pass for a sign of life from Twitter.
import { PROBE_USER_AGENT } from '../twitter/crc.js';
export { PROBE_USER_AGENT };

async function request(fetchFn: typeof fetch, url: string, init: RequestInit, timeoutMs: number, readBody: boolean): Promise<ProbeResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetchFn(url, { ...init, headers: { ...(init.headers as Record<string, string>), 'user-agent': PROBE_USER_AGENT }, redirect: 'manual', signal });
    // The limit covers the body too: an answer trickling in slowly is as late for Twitter.
    const body = readBody ? await res.text() : (await res.body?.cancel(), '');
    return { kind: 'answer', status: res.status, ms: ms(), body, location: res.headers.get('location') };
  } catch (err) {
    if (signal.aborted) return { kind: 'timeout', ms: ms() };
    return { kind: 'unreachable', ms: ms(), reason: networkReason(err) };
  }
}

export type CrcProbe =
  | { kind: 'ok'; ms: number }
  /** 200 and a response_token, but not the one this interaction's API secret key gives. */
  | { kind: 'wrong-token'; ms: number }
  /** 200 without {"response_token": ...}: something else answers there. */
  | { kind: 'not-crc'; ms: number; body: string }
  | { kind: 'status'; ms: number; status: number; location: string | null }
  | { kind: 'timeout'; ms: number }
  | { kind: 'unreachable'; ms: number; reason: string };

/** GET <webhookUrl>?crc_token=<token>, as Twitter does, and checks the answer against the secret. */
export async function probeCrc(fetchFn: typeof fetch, webhookUrl: string, apiSecretKey: string, timeoutMs: number): Promise<CrcProbe> {
  const token = probeCrcToken();
  const target = new URL(webhookUrl);
  target.searchParams.set('crc_token', token);
  const r = await request(fetchFn, target.toString(), { method: 'GET', headers: { accept: 'application/json' } }, timeoutMs, true);
  if (r.kind !== 'answer') return r;
  if (r.status !== 200) return { kind: 'status', ms: r.ms, status: r.status, location: r.location };
  let answer: unknown;
  try {
    answer = (JSON.parse(r.body) as { response_token?: unknown } | null)?.response_token;
  } catch {
    answer = undefined;
  }
  if (typeof answer !== 'string') return { kind: 'not-crc', ms: r.ms, body: r.body.slice(0, 120) };
  return answer === crcResponseToken(apiSecretKey, token) ? { kind: 'ok', ms: r.ms } : { kind: 'wrong-token', ms: r.ms };
}

/**
 * GET of the Helper's conversation URL. Deliberately not a POST of a message: a Rasa-style bot
 * keeps a conversation per sender and may run actions on any message, so a probe message would
 * leave traces in the bot. A GET proves DNS, TCP, TLS and an HTTP server at that path (Rasa's REST
 * channel answers 405 there, since the route only takes POST).
 */
export async function probeHelper(fetchFn: typeof fetch, url: string, timeoutMs: number): Promise<ProbeResult> {
  return request(fetchFn, url, { method: 'GET' }, timeoutMs, false);
}
