// The HTTP underneath omni's X API v2 calls: node:http/https, one connection per call (no keep-alive
// pool: a CLI command must exit as soon as it is done, which fetch's pooled sockets delay by seconds).
// twitter-api-v2 stays in use for OAuth 1.0a signing (gateway.ts); v2 calls need what its raw
// helpers make awkward: form bodies for the OAuth 2.0 token endpoint with Basic or public-client
// auth, problem+json bodies and the rate-limit headers of every answer, one AbortSignal per call.
import http from 'node:http';
import https from 'node:https';
import { TwitterError, twitterBadResponse, twitterNetworkError, type TwitterCall } from './errors.js';

export interface XResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the body was JSON, the text otherwise, undefined when empty. */
  body: unknown;
}

export interface XRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** A JSON body (sent as application/json) or a form (sent as application/x-www-form-urlencoded). */
  json?: unknown;
  form?: Record<string, string>;
}

export interface XFetchOptions {
  timeoutMs: number;
  /** Aborts the call (gateway close, Ctrl-C). */
  signal?: AbortSignal;
  baseUrl: string;
}

/** At most this much of an answer is read (X's answers are small; a stream never goes through here). */
const MAX_ANSWER = 4 * 1024 * 1024;

/** Sends one request and returns any HTTP answer; only "no answer" (network, timeout, abort) throws. */
export async function xFetch(call: TwitterCall, req: XRequest, opts: XFetchOptions): Promise<XResponse> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'omni', ...req.headers };
  let body: string | undefined;
  if (req.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(req.json);
  } else if (req.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(req.form).toString();
  }
  if (body !== undefined || req.method === 'POST' || req.method === 'PUT') headers['content-length'] = String(Buffer.byteLength(body ?? ''));
  let answer: { status: number; headers: http.IncomingHttpHeaders; text: string };
  try {
    answer = await new Promise((resolve, reject) => {
      const lib = req.url.startsWith('https:') ? https : http;
      const r = lib.request(req.url, { method: req.method, headers, agent: false, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER) res.destroy(new Error(`answer larger than ${MAX_ANSWER} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(body);
    });
  } catch (err) {
    if (opts.signal?.aborted) throw abortError(call, opts.signal);
    const cause = timeout.aborted ? Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }) : err;
    throw twitterNetworkError(call, cause, opts.baseUrl, opts.timeoutMs);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  let parsed: unknown = undefined;
  if (answer.text !== '') {
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      parsed = answer.text;
    }
  }
  return { status: answer.status, headers: out, body: parsed };
}

export function abortError(call: TwitterCall, signal: AbortSignal): TwitterError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
  return new TwitterError('network', `${call.method} ${call.url.split('?')[0]} was cancelled: ${reason}`, { url: call.url, cause: signal.reason });
}

/** The object under `data`, or a bad-response error naming what was missing. */
export function dataOf(call: TwitterCall, res: XResponse): Record<string, unknown> {
  const data = (res.body as { data?: unknown } | undefined)?.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw twitterBadResponse(call, `no data object in the answer (HTTP ${res.status})`);
  return data as Record<string, unknown>;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}
