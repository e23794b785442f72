// "Is Twitter still talking to us?" from what omni recorded, without calling Twitter: the last CRC
// the listener answered, the last refused one, the watchdog's last check. Shared by
// `omni webhook status` and `omni doctor`.
//
// Twitter re-validates every webhook with a CRC roughly once an hour. CRC_STALE_AFTER_MS (2 h) allows
// for one late or skipped re-validation: past it, no CRC has reached `omni listen`, so either the
// listener was not running, or the URL does not lead to it, or Twitter stopped checking because it
// considers the webhook invalid: in every case DMs may not be arriving.
import type { Kysely } from 'kysely';
import type { Database, WebhookEvent } from '../db/schema.js';
import { lastWebhookEvent } from '../db/webhook-events.js';
import type { InteractionView } from '../db/interactions.js';

export const CRC_STALE_AFTER_MS = 2 * 3_600_000;

export interface WebhookHealth {
  interactionId: number;
  /** A webhook is registered as far as omni knows (otherwise nothing is expected to arrive). */
  registered: boolean;
  /** The last CRC the listener answered (Twitter's periodic check, a registration, a re-trigger). */
  lastCrc: { at: string; remote: string | null } | null;
  /** The last CRC request refused (a malformed or hostile token), for the curious. */
  lastRefusedCrc: { at: string; reason: string; remote: string | null } | null;
  lastWatchdogCheck: { at: string; result: string; detail: string | null } | null;
  /** Milliseconds since the last answered CRC, or null when none was recorded. */
  crcAgeMs: number | null;
  staleAfterMs: number;
  /** Registered, and no CRC answered within staleAfterMs (or ever). */
  crcStale: boolean;
  /** One line each, with the fix. Empty when all is well. */
  warnings: string[];
}

type Row = Pick<InteractionView, 'id' | 'webhook_id'>;

export async function webhookHealth(db: Kysely<Database>, row: Row, now: Date, staleAfterMs = CRC_STALE_AFTER_MS): Promise<WebhookHealth> {
  const [crc, refused, watchdog] = await Promise.all([
    lastWebhookEvent(db, row.id, 'crc_answered'),
    lastWebhookEvent(db, row.id, 'crc_refused'),
    lastWebhookEvent(db, row.id, 'watchdog'),
  ]);
  return assessWebhookHealth(row, { crc, refused, watchdog }, now, staleAfterMs);
}

/** The judgement alone, on events already read: what tests and other callers can feed directly. */
export function assessWebhookHealth(
  row: Row,
  e: { crc: WebhookEvent | undefined; refused: WebhookEvent | undefined; watchdog: WebhookEvent | undefined },
  now: Date,
  staleAfterMs = CRC_STALE_AFTER_MS,
): WebhookHealth {
  const registered = row.webhook_id !== null;
  const crcAgeMs = e.crc ? Math.max(0, now.getTime() - Date.parse(e.crc.at)) : null;
  const crcStale = registered && (crcAgeMs === null || crcAgeMs > staleAfterMs);
  const warnings: string[] = [];
  const limit = formatAge(staleAfterMs);
  if (crcStale) {
    warnings.push(
      crcAgeMs === null
        ? `no CRC from Twitter has been recorded for this webhook; Twitter re-validates about hourly, so 'omni listen' has not been reachable at the webhook URL (check: omni webhook check ${row.id})`
        : `no CRC from Twitter for ${formatAge(crcAgeMs)} (more than ${limit}; Twitter re-validates about hourly): is 'omni listen' running and reachable at the webhook URL? (check: omni webhook check ${row.id})`,
    );
  }
  if (registered && e.watchdog && !['valid', 'revalidated'].includes(e.watchdog.result)) {
    warnings.push(`the watchdog's last check (${e.watchdog.at}) found: ${e.watchdog.result}${e.watchdog.detail ? `: ${e.watchdog.detail}` : ''}`);
  }
  return {
    interactionId: row.id,
    registered,
    lastCrc: e.crc ? { at: e.crc.at, remote: e.crc.remote } : null,
    lastRefusedCrc: e.refused ? { at: e.refused.at, reason: e.refused.result, remote: e.refused.remote } : null,
    lastWatchdogCheck: e.watchdog ? { at: e.watchdog.at, result: e.watchdog.result, detail: e.watchdog.detail } : null,
    crcAgeMs,
    staleAfterMs,
    crcStale,
    warnings,
  };
}

/** "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function formatAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
}
