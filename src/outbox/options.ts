// Quick-reply options as stored on an outbox row (JSON) and as Twitter accepts them: 1–20 options,
// labels ≤ 36 characters, descriptions ≤ 72, metadata ≤ 1000. Text from a bot is cut to fit rather
// than refused: a shortened button beats a DM Twitter rejects for good.
import type { QuickReplyOption } from '../twitter/gateway.js';
import { DM_MAX_LENGTH } from '../parameters.js';

export const MAX_OPTIONS = 20;
export const LABEL_MAX = 36;
export const DESCRIPTION_MAX = 72;
export const METADATA_MAX = 1000;

/** Cuts to `max` code points (an emoji is never split), marking the cut with an ellipsis. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…';
}

export function normaliseOptions(options: readonly QuickReplyOption[] | undefined): QuickReplyOption[] {
  const out: QuickReplyOption[] = [];
  for (const o of options ?? []) {
    const label = clip(o.label.replace(/\s+/g, ' ').trim(), LABEL_MAX);
    if (label === '') continue;
    out.push({
      label,
      ...(o.description ? { description: clip(o.description, DESCRIPTION_MAX) } : {}),
      // Metadata is matched exactly when it comes back, so it is dropped rather than cut.
      ...(o.metadata !== undefined && o.metadata !== '' && o.metadata.length <= METADATA_MAX ? { metadata: o.metadata } : {}),
    });
    if (out.length === MAX_OPTIONS) break;
  }
  return out;
}

export function encodeOptions(options: readonly QuickReplyOption[] | undefined): string | null {
  const n = normaliseOptions(options);
  return n.length ? JSON.stringify(n) : null;
}

export function decodeOptions(json: string | null): QuickReplyOption[] {
  if (!json) return [];
  try {
    const parsed = JSON.parse(json) as unknown;
    return Array.isArray(parsed) ? normaliseOptions(parsed.filter((o): o is QuickReplyOption => typeof o?.label === 'string')) : [];
  } catch {
    return [];
  }
}

/** DM text that Twitter accepts: not empty, at most DM_MAX_LENGTH characters. */
export function dmText(text: string): string {
  return clip(text, DM_MAX_LENGTH);
}

/**
 * Quick replies as text, for X's API of 2026 (POST /2/dm_conversations/with/{id}/messages takes no
 * quick replies): the options numbered under the text. The requester answers with the number; the
 * Helper reads it as that option (src/chatbot/conversation.ts, `numberedChoice`).
 */
export function numberedMenu(text: string, options: readonly QuickReplyOption[]): string {
  if (options.length === 0) return dmText(text);
  const lines = options.map((o, i) => `${i + 1}. ${o.label}${o.description ? ` (${o.description})` : ''}`);
  const menu = `\n\n${lines.join('\n')}\n\n${NUMBERED_MENU_PROMPT}`;
  // The menu is what makes the message answerable: the text gives way to it.
  return clip(text, Math.max(1, DM_MAX_LENGTH - Array.from(menu).length)) + menu;
}

export const NUMBERED_MENU_PROMPT = 'Reply with the number of your choice.';
