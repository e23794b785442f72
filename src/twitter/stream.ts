// A consumer of GET /2/activity/stream (app bearer): an async iterator of parsed Activity API
// envelopes. X sends newline-delimited JSON with a blank line ("\r\n") as keep-alive at least every
// 20 s, so silence longer than the stall limit (default 30 s) means a dead connection: it is cut and
// re-opened. Every reconnect waits an exponential backoff with jitter (honouring a 429's reset) and
// asks X to backfill the minutes since the last byte it saw (backfill_minutes, at most 5); envelopes
// seen twice across a backfill are dropped by event_uuid. Stops quietly when `signal` aborts.
import { xErrorFromResponse, type TwitterCall } from './errors.js';

export interface ActivityEnvelope {
  eventType: string;
  eventUuid: string | null;
  /** filter.user_id of the subscription that matched. */
  userId: string | null;
  tag: string | null;
  payload: unknown;
  /** The line as X sent it. */
  raw: string;
}

export type StreamEvent =
  | { type: 'connected'; backfillMinutes: number }
  | { type: 'keep-alive' }
  | { type: 'stalled'; silentMs: number }
  | { type: 'disconnected'; reason: string }
  | { type: 'reconnecting'; delayMs: number; attempt: number }
  | { type: 'bad-line'; line: string };

export interface ActivityStreamOptions {
  baseUrl: string;
  /** The app-only bearer token (XGateway.appBearer). */
  bearer: () => Promise<string>;
  /** Called after a 401, so the next bearer() fetches a new token. */
  invalidateBearer?: () => void;
  signal?: AbortSignal;
  /** Silence that counts as a stall; must exceed X's 20 s keep-alive interval. */
  stallMs?: number;
  /** First reconnect delay and cap. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** backfill_minutes of the first connection (0–5). */
  backfillMinutes?: number;
  /** Time limit for X to answer the connection request. */
  connectTimeoutMs?: number;
  onEvent?: (e: StreamEvent) => void;
  random?: () => number;
}

/** X sends a keep-alive at least this often; a stall limit must be longer. */
export const X_KEEPALIVE_MS = 20_000;
const MAX_BACKFILL_MINUTES = 5;

/** Parses one line of the stream; undefined for anything that is not an envelope. */
export function parseEnvelope(line: string): ActivityEnvelope | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  const d = ((v as { data?: unknown })?.data ?? v) as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null || typeof d.event_type !== 'string') return undefined;
  const filter = (d.filter ?? {}) as Record<string, unknown>;
  return {
    eventType: d.event_type,
    eventUuid: typeof d.event_uuid === 'string' ? d.event_uuid : null,
    userId: typeof filter.user_id === 'string' ? filter.user_id : null,
    tag: typeof d.tag === 'string' ? d.tag : null,
    payload: d.payload,
    raw: line,
  };
}

class Fatal extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

export async function* activityStream(o: ActivityStreamOptions): AsyncGenerator<ActivityEnvelope, void, undefined> {
  const stallMs = o.stallMs ?? X_KEEPALIVE_MS + 10_000;
  const initial = o.backoff?.initialMs ?? 1_000;
  const max = o.backoff?.maxMs ?? 60_000;
  const random = o.random ?? Math.random;
  const emit = (e: StreamEvent) => o.onEvent?.(e);
  const seen: string[] = [];
  const seenSet = new Set<string>();
  let lastByteAt: number | undefined;
  let attempt = 0;
  let unauthorizedOnce = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        o.signal?.removeEventListener('abort', done);
        resolve();
      }
      o.signal?.addEventListener('abort', done, { once: true });
    });

  while (!o.signal?.aborted) {
    const backfill =
      lastByteAt === undefined ? Math.min(MAX_BACKFILL_MINUTES, Math.max(0, o.backfillMinutes ?? 0)) : Math.min(MAX_BACKFILL_MINUTES, Math.max(1, Math.ceil((Date.now() - lastByteAt) / 60_000)));
    const qs = backfill > 0 ? `?backfill_minutes=${backfill}` : '';
    const call: TwitterCall = { method: 'GET', url: `${o.baseUrl}/2/activity/stream${qs}`, auth: 'app', what: 'open the activity stream' };
    const conn = new AbortController();
    const onAbort = () => conn.abort(o.signal?.reason);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let retryAfterMs = 0;
    let gotData = false;
    try {
      const token = await o.bearer();
      const connectTimer = setTimeout(() => conn.abort(new Error('connect timeout')), o.connectTimeoutMs ?? 30_000);
      let res: Response;
      try {
        res = await fetch(call.url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: conn.signal });
      } finally {
        clearTimeout(connectTimer);
      }
      if (res.status !== 200) {
        const text = await res.text().catch(() => '');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep the text
        }
        const headers: Record<string, string> = {};
        res.headers.forEach((v, k) => (headers[k] = v));
        const err = xErrorFromResponse(call, res.status, body, headers);
        if (res.status === 401 && !unauthorizedOnce) {
          unauthorizedOnce = true;
          o.invalidateBearer?.();
          throw new Error(err.message);
        }
        if (res.status === 429 || res.status >= 500) {
          if (err.resetAt) retryAfterMs = Math.max(0, err.resetAt.getTime() - Date.now());
          throw new Error(err.message);
        }
        throw new Fatal(err);
      }
      unauthorizedOnce = false;
      emit({ type: 'connected', backfillMinutes: backfill });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let stallTimer: NodeJS.Timeout | undefined;
      const armStall = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          emit({ type: 'stalled', silentMs: stallMs });
          conn.abort(new Error(`no data or keep-alive for ${Math.round(stallMs / 1000)} s`));
        }, stallMs);
      };
      armStall();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          lastByteAt = Date.now();
          armStall();
          buffer += decoder.decode(value, { stream: true });
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).replace(/\r$/, '');
            buffer = buffer.slice(nl + 1);
            if (line.trim() === '') {
              emit({ type: 'keep-alive' });
              continue;
            }
            const env = parseEnvelope(line);
            if (!env) {
              emit({ type: 'bad-line', line: line.slice(0, 200) });
              continue;
            }
            gotData = true;
            if (env.eventUuid !== null) {
              if (seenSet.has(env.eventUuid)) continue;
              seenSet.add(env.eventUuid);
              seen.push(env.eventUuid);
              if (seen.length > 5000) seenSet.delete(seen.shift()!);
            }
            // The consumer's time is not X's silence: no stall clock while it handles the envelope.
            clearTimeout(stallTimer);
            yield env;
            armStall();
          }
        }
      } finally {
        clearTimeout(stallTimer);
        conn.abort(new Error('stream closed'));
      }
      emit({ type: 'disconnected', reason: 'X closed the stream' });
    } catch (err) {
      if (err instanceof Fatal) throw err.error;
      if (o.signal?.aborted) return;
      const reason = conn.signal.aborted && conn.signal.reason instanceof Error ? conn.signal.reason.message : (err as Error).message;
      emit({ type: 'disconnected', reason });
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
    if (o.signal?.aborted) return;
    if (gotData) attempt = 0;
    const base = Math.min(max, initial * 2 ** attempt);
    const delay = Math.max(retryAfterMs, Math.round(base / 2 + (random() * base) / 2));
    attempt++;
    emit({ type: 'reconnecting', delayMs: delay, attempt });
    await sleep(delay);
  }
}

