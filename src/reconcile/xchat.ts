// Reconciliation of X Chat (issue 18): for an interaction with an active X Chat identity, each
// conversation omni knows (xchat_conversations: the conversations with activity) is read from X's
// history (GET /2/chat/conversations/{id}/events) newest first, with the same cost rules as the DM
// history (small first page, larger pages only while every message is new, X's rate limit honoured).
// Each event is rebuilt as the chat.received / chat.sent envelope X would have delivered and handed to
// the listener's own X Chat receiver (decrypt, verify, refusals recorded as the listener records
// them); what verifies goes to the one intake as a chat item, deduplicated on the signed message id,
// the account's own messages taking the echo path.
//
// Stopping point per conversation: a stored message sent before the previous run started (less a
// margin), or, on the first run, the first stored message; with an explicit `since`, that time.
import type { IntakeInteraction } from '../db/intake.js';
import type { ChatWriteItem } from '../intake/chat.js';
import type { EventResult } from '../intake/pipeline.js';
import { CURSOR_MARGIN_MS, FIRST_PAGE, HISTORY_MS, MAX_PAGE, type HistoryJob } from './run.js';
import { HISTORY_UUID_PREFIX } from './history.js';
import type { ChatHistoryEvent } from '../twitter/gateway-v2.js';

/** What the listener's X Chat receiver makes of one envelope (src/listener/xchat-intake.ts ChatIntakeStep). */
export type ChatStep = { kind: 'store'; chat: ChatWriteItem } | { kind: 'answered'; results: EventResult[] } | { kind: 'deferred'; detail: string; results: EventResult[] };

export interface ChatReconcileDeps {
  interaction: IntakeInteraction;
  account: string;
  /** The known conversations (`lo:hi`). */
  conversations: string[];
  page(conversationId: string, p: { maxResults: number; paginationToken?: string }): Promise<{ events: ChatHistoryEvent[]; nextToken: string | null }>;
  /**
   * Decrypts and verifies one envelope; records refusals unless `record` is false: an event sent
   * before the previous run started was read (and its refusal recorded) by that run already.
   */
  receive(envelope: unknown, o: { record: boolean }): Promise<ChatStep>;
  /** Which of these signed message ids omni already holds. */
  stored(ids: string[]): Promise<Set<string>>;
  /** The one intake (absent: dry run). */
  submit?: (job: HistoryJob) => Promise<EventResult[]>;
  clock: () => Date;
  /** Read back to this time whatever is stored (explicit --since). */
  since?: Date;
  /** When the previous run started: stored messages older than this (less a margin) end a conversation's read. */
  previousRunAt: Date | null;
}

export interface MissingChat {
  messageId: string;
  conversationId: string;
  direction: 'inbound' | 'outbound';
  senderId: string;
  createdAt: string;
  text: string;
}

export interface ChatReconcileResult {
  conversations: number;
  read: number;
  pages: number;
  missing: MissingChat[];
  imported: EventResult[];
  alreadyStored: number;
  /** Refused (recorded) or not a message. */
  skipped: number;
  /** X could not be asked for keys: left for the next run. */
  deferred: number;
  limitedUntil: Date | null;
}

/** The Activity API envelope X would have delivered for one stored event of the account's conversation. */
export function chatEnvelope(account: string, e: ChatHistoryEvent, conversationId: string): unknown {
  const ms = e.createdAt === null ? NaN : /^[0-9]+$/.test(e.createdAt) ? Number(e.createdAt) : Date.parse(e.createdAt);
  return {
    data: {
      event_type: e.senderId === account ? 'chat.sent' : 'chat.received',
      event_uuid: `${HISTORY_UUID_PREFIX}${e.id}`,
      filter: { user_id: account },
      payload: {
        id: e.id,
        conversation_id: e.conversationId ?? conversationId,
        encoded_event: e.encodedEvent,
        ...(e.senderId !== null ? { sender_id: e.senderId } : {}),
        ...(Number.isFinite(ms) ? { created_at_msec: String(ms) } : {}),
        ...(e.conversationToken !== null ? { conversation_token: e.conversationToken } : {}),
      },
    },
  };
}

export async function reconcileXChat(d: ChatReconcileDeps): Promise<ChatReconcileResult> {
  const r: ChatReconcileResult = { conversations: 0, read: 0, pages: 0, missing: [], imported: [], alreadyStored: 0, skipped: 0, deferred: 0, limitedUntil: null };
  const now = d.clock().getTime();
  const floor = Math.max(d.since?.getTime() ?? 0, now - HISTORY_MS);
  const settled = d.since === undefined && d.previousRunAt !== null ? d.previousRunAt.getTime() - CURSOR_MARGIN_MS : null;
  const toStore: ChatWriteItem[] = [];
  const seen = new Set<string>();
  outer: for (const conversationId of d.conversations) {
    r.conversations++;
    let size = FIRST_PAGE;
    let token: string | undefined;
    for (;;) {
      let page: Awaited<ReturnType<ChatReconcileDeps['page']>>;
      try {
        page = await d.page(conversationId, { maxResults: size, ...(token ? { paginationToken: token } : {}) });
      } catch (err) {
        const e = err as { kind?: string; resetAt?: Date };
        if (e.kind !== 'rate-limited') throw err;
        r.limitedUntil = e.resetAt ?? new Date(now + 15 * 60_000);
        break outer;
      }
      r.pages++;
      r.read += page.events.length;
      const steps: Array<{ item: ChatWriteItem }> = [];
      let ended = false;
      for (const e of page.events) {
        const sentAt = e.createdAt === null ? NaN : /^[0-9]+$/.test(e.createdAt) ? Number(e.createdAt) : Date.parse(e.createdAt);
        const step = await d.receive(chatEnvelope(d.account, e, conversationId), { record: !(settled !== null && Number.isFinite(sentAt) && sentAt < settled) });
        if (step.kind === 'deferred') {
          r.deferred++;
          continue;
        }
        if (step.kind === 'answered') {
          r.skipped++;
          continue;
        }
        const t = Date.parse(step.chat.createdAt);
        if (Number.isFinite(t) && t < floor) {
          ended = true;
          break;
        }
        steps.push({ item: step.chat });
      }
      const stored = await d.stored(steps.map((s) => s.item.messageId));
      let allNew = true;
      for (const { item } of steps) {
        if (stored.has(item.messageId) || seen.has(item.messageId)) {
          r.alreadyStored++;
          allNew = false;
          const t = Date.parse(item.createdAt);
          if (d.since === undefined && (settled === null || (Number.isFinite(t) && t < settled))) {
            ended = true;
            break;
          }
          continue;
        }
        seen.add(item.messageId);
        toStore.push(item);
      }
      if (ended || page.nextToken === null) break;
      token = page.nextToken;
      if (allNew) size = Math.min(MAX_PAGE, size * 4);
    }
  }
  // Oldest first, in the order the customers wrote.
  toStore.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  r.missing = toStore.map((c) => ({ messageId: c.messageId, conversationId: c.conversationId, direction: c.direction === 'sent' ? 'outbound' : 'inbound', senderId: c.senderId, createdAt: c.createdAt, text: c.text }));
  if (d.submit) {
    for (const chat of toStore) r.imported.push(...(await d.submit({ interaction: d.interaction, body: '', at: d.clock().toISOString(), chat })));
  }
  return r;
}
