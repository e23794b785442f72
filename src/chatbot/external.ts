// The external Helper: a Rasa-style REST channel (parameter 441). omni POSTs
//   {"sender": "<twitter user id>", "message": "<text or quick-reply payload>"}
// and reads back an array of {text?, buttons?: [{title, payload}], custom?}. A message whose custom
// has handoff: true or omni: "open_ticket" asks omni to open the ticket. Anything unusable —
// no connection, no answer within the time limit, non-2xx, not an array, nothing to say — is a
// failure, and the caller sends the fallback (parameter 453) instead.
import type { QuickReplyOption } from '../twitter/gateway.js';

export const DEFAULT_EXTERNAL_TIMEOUT_MS = 5_000;
/** Helper answers are read up to this size; a bot never needs more for a few DMs. */
const MAX_ANSWER_BYTES = 256 * 1024;

export interface BotMessage {
  text: string | null;
  options: QuickReplyOption[];
  handoff: boolean;
}

export type ExternalCall =
  | { ok: true; messages: BotMessage[]; status: number; ms: number }
  | { ok: false; reason: string; status?: number; ms: number };

export interface ExternalCallOptions {
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The Helper timeout from OMNI_HELPER_TIMEOUT_MS (default 5 s); a bad value is an error, not a silent default. */
export function externalTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env.OMNI_HELPER_TIMEOUT_MS?.trim();
  if (!raw) return DEFAULT_EXTERNAL_TIMEOUT_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw Object.assign(new Error(`OMNI_HELPER_TIMEOUT_MS must be a positive number of milliseconds, not '${raw}'`), { exitCode: 2 });
  return n;
}

export async function callExternalBot(url: string, body: { sender: string; message: string }, opts: ExternalCallOptions = {}): Promise<ExternalCall> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXTERNAL_TIMEOUT_MS;
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let res: Response;
  let text: string;
  try {
    // The signal covers the body too: a Helper that answers headers and then trickles still times out.
    const signal = AbortSignal.timeout(timeoutMs);
    res = await (opts.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal,
      redirect: 'error',
    });
    text = await res.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return { ok: false, reason: `no answer within ${timeoutMs / 1000} s`, ms: ms() };
    const cause = e.cause?.code ?? e.cause?.message ?? e.message;
    return { ok: false, reason: `cannot reach it: ${cause}`, ms: ms() };
  }
  if (res.status < 200 || res.status > 299) return { ok: false, reason: `it answered HTTP ${res.status}`, status: res.status, ms: ms() };
  if (text.length > MAX_ANSWER_BYTES) return { ok: false, reason: `its answer is over ${MAX_ANSWER_BYTES} bytes`, status: res.status, ms: ms() };
  const messages = parseExternalAnswer(text);
  if (messages === undefined) return { ok: false, reason: 'its answer is not a JSON array of messages', status: res.status, ms: ms() };
  if (messages.length === 0) return { ok: false, reason: 'it answered nothing', status: res.status, ms: ms() };
  return { ok: true, messages, status: res.status, ms: ms() };
}

/** The usable messages of an answer (text, buttons or a handoff), or undefined when it is not an array. */
export function parseExternalAnswer(text: string): BotMessage[] | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(data)) return undefined;
  const out: BotMessage[] = [];
  for (const m of data) {
    if (typeof m !== 'object' || m === null) continue;
    const r = m as { text?: unknown; buttons?: unknown; custom?: unknown; quick_replies?: unknown };
    const messageText = typeof r.text === 'string' && r.text.trim() !== '' ? r.text : null;
    const buttons = Array.isArray(r.buttons) ? r.buttons : Array.isArray(r.quick_replies) ? r.quick_replies : [];
    const options: QuickReplyOption[] = [];
    for (const b of buttons) {
      const title = typeof b?.title === 'string' ? b.title.trim() : '';
      if (title === '') continue;
      const payload = typeof b.payload === 'string' && b.payload !== '' ? b.payload : title;
      options.push({ label: title, metadata: payload });
    }
    const custom = typeof r.custom === 'object' && r.custom !== null ? (r.custom as { handoff?: unknown; omni?: unknown }) : {};
    const handoff = custom.handoff === true || custom.omni === 'open_ticket';
    if (messageText === null && options.length === 0 && !handoff) continue;
    out.push({ text: messageText, options, handoff });
  }
  return out;
}
