// From a verified delivery body to what the pipeline acts on. Two envelopes are understood:
// the Account Activity API (v1.1: {for_user_id, direct_message_events, users, ...}) and the X
// Activity API ({data: {event_type, filter: {user_id}, payload: {direct_message_events, users}}}),
// whose DM payload is the v1.1 shape with v2-style user objects. Everything else is reported as an
// ignored event, never an error: Twitter must get its 200 or it retries what we cannot use anyway.
import { idString, parseJsonLossless } from './json.js';
import { isObjectSpan, objectMembers, plainString, type ValueSpan } from './json-scan.js';

export interface Attachment {
  type: string;
  mediaUrl: string | null;
  idStr: string | null;
  /** X Chat attachments (src/intake/chat.ts): the media stays encrypted at X, its metadata is kept. */
  mediaHashKey?: string;
  filename?: string;
  filesizeBytes?: number;
  mediaType?: string;
  url?: string;
}

export interface DmEvent {
  /** The DM event id: the dedup key. */
  id: string;
  senderId: string;
  recipientId: string | null;
  /** ISO-8601 of created_timestamp, or null when absent or unreadable. */
  createdAt: string | null;
  /** Text with t.co links replaced by their expanded URLs. */
  text: string;
  attachments: Attachment[];
  /** The metadata of the quick-reply option the sender chose (message_data.quick_reply_response), or null. */
  quickReplyPayload: string | null;
}

export interface Profile {
  screenName: string | null;
  name: string | null;
}

/** One thing a delivery carries, in the order the pipeline answers them. */
export type DeliveryItem =
  | { kind: 'dm'; event: DmEvent }
  | { kind: 'revoke'; userId: string | null; at: string | null }
  /** Something we answer 200 to and do not store: typing, read receipts, tweets, follows, ... */
  | { kind: 'ignored'; event: string; reason: string; senderId?: string }
  /** An item of a DM array we cannot use (no id, no sender): logged, not retried. */
  | { kind: 'malformed'; event: string; reason: string }
  /** The end of a webhook replay job (POST /2/webhooks/replay): recorded, nothing else. */
  | { kind: 'replay_status'; jobId: string; webhookId: string | null; state: string; description: string | null };

export interface Delivery {
  format: 'account-activity' | 'x-activity' | 'unknown';
  /** X Activity API only: the envelope's event_type (dm.received, dm.sent, …). */
  eventType?: string;
  /** The subscribed account the delivery is for, when the payload says. */
  forUserId: string | null;
  /** Set when the payload names its account in a form that is no Twitter id (`"abc"`, `["222"]`, null): refused, never taken as absent. */
  badForUserId?: string;
  items: DeliveryItem[];
  profiles: Map<string, Profile>;
}

/** Known by this code across the listener's thread boundary (the writer thread parses the events). */
export const DELIVERY_PARSE_CODE = 'ERR_DELIVERY_PARSE';

export class DeliveryParseError extends Error {
  readonly code = DELIVERY_PARSE_CODE;
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryParseError';
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Labels of the Account Activity keys that carry no DM, for logs and results. */
const IGNORED_KEYS: Record<string, string> = {
  direct_message_indicate_typing_events: 'typing',
  direct_message_mark_read_events: 'read',
  tweet_create_events: 'tweet',
  tweet_delete_events: 'tweet_delete',
  favorite_events: 'favorite',
  follow_events: 'follow',
  block_events: 'block',
  mute_events: 'mute',
};
/** Keys that describe the delivery rather than carry events. */
const CONTEXT_KEYS = new Set(['for_user_id', 'users', 'apps', 'user_has_blocked', 'source']);

/** Parses raw bytes (already signature-checked). Throws DeliveryParseError when not a JSON object. */
export function parseDelivery(raw: Uint8Array | string): Delivery {
  return deliveryOfBody(parseBody(raw));
}

/**
 * Whose a delivery is, read without walking its events: what the listener's main thread needs to
 * refuse or route it (the writer thread parses the events). `account` is deliveryAccount's answer.
 */
export interface DeliveryAddress {
  /** X Activity API only: the envelope's event_type. */
  eventType?: string;
  forUserId: string | null;
  badForUserId?: string;
  account: string | null;
}

/** The address of a delivery from its whole parse (what deliveryAddress falls back on). Throws DeliveryParseError. */
export function parseDeliveryAddress(raw: Uint8Array | string): DeliveryAddress {
  const body = parseBody(raw);
  return isXActivity(body) ? xActivityAddress(body.data) : accountActivityAddress(body);
}

/**
 * Whose a delivery is, reading only the few members that say so (json-scan.ts): the listener's main
 * thread never parses the events, most of the bytes. Falls back to the whole parse when the scan
 * cannot read the body with certainty. Throws DeliveryParseError as parseDeliveryAddress does.
 */
export function deliveryAddress(raw: Uint8Array): DeliveryAddress {
  return readDeliveryAddress(raw) ?? parseDeliveryAddress(raw);
}

const TOP_MEMBERS = ['for_user_id', 'user_event', 'data'] as const;
const DATA_MEMBERS = ['event_type', 'filter', 'payload'] as const;

/** The address from the members that hold it, or undefined when the scan cannot tell (then parse the whole). Exported for tests. */
export function readDeliveryAddress(raw: Uint8Array): DeliveryAddress | undefined {
  try {
    const top = objectMembers(raw, TOP_MEMBERS);
    if (!top) return undefined;
    if (isObjectSpan(raw, top.data)) {
      const d = objectMembers(raw, DATA_MEMBERS, top.data.start, top.data.end);
      if (!d) return undefined;
      const eventType = d.event_type && valueAt(raw, d.event_type);
      if (typeof eventType === 'string') {
        // Only what xActivityAddress reads: the payload only for a revoke, whose payload is small.
        const data: Json & { event_type: string } = { event_type: eventType };
        if (d.filter) data.filter = valueAt(raw, d.filter);
        if (eventType === 'oauth.revoke' && d.payload) data.payload = valueAt(raw, d.payload);
        return xActivityAddress(data);
      }
    }
    const body: Json = {};
    if (top.for_user_id) body.for_user_id = valueAt(raw, top.for_user_id);
    if (top.user_event) body.user_event = valueAt(raw, top.user_event);
    return accountActivityAddress(body);
  } catch {
    return undefined; // a value that does not parse: the whole parse says why
  }
}

function valueAt(raw: Uint8Array, span: ValueSpan): unknown {
  // Ids and event types are plain strings: read without the parser.
  const plain = plainString(raw, span);
  if (plain !== undefined) return plain;
  // Inside brackets, as it was inside its object: a long integer on its own would escape
  // parseJsonLossless's check, which looks for one after a `:`, `,` or `[`.
  return (parseJsonLossless('[' + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8', span.start, span.end) + ']') as unknown[])[0];
}

function xActivityAddress(data: Json & { event_type: string }): DeliveryAddress {
  const payload = isObject(data.payload) ? data.payload : {};
  const a = xActivityAccount(data);
  const revoker = data.event_type === 'oauth.revoke' ? (idString(payload.user_id) ?? a.forUserId) : null;
  return { eventType: data.event_type, ...a, account: a.forUserId ?? revoker };
}

function accountActivityAddress(body: Json): DeliveryAddress {
  const a = accountActivityAccount(body);
  return { ...a, account: a.forUserId ?? revokingUser(body.user_event) };
}

/**
 * What the main thread decided a delivery's address was, as one string: the writer thread, which
 * parses the whole, refuses the delivery if its own reading differs (the scan and the parser must agree).
 */
export function addressKey(a: Pick<DeliveryAddress, 'eventType' | 'forUserId' | 'badForUserId'>): string {
  return `${a.eventType ?? ''}|${a.forUserId ?? ''}|${a.badForUserId === undefined ? '' : 'bad'}`;
}

function parseBody(raw: Uint8Array | string): Json {
  let body: unknown;
  try {
    body = parseJsonLossless(typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
  } catch (err) {
    throw new DeliveryParseError(`the body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(body)) throw new DeliveryParseError('the body is JSON but not an object');
  return body;
}

function isXActivity(body: Json): body is Json & { data: Json & { event_type: string } } {
  return isObject(body.data) && typeof body.data.event_type === 'string';
}

function deliveryOfBody(body: Json): Delivery {
  return isXActivity(body) ? parseXActivity(body.data) : parseAccountActivity(body);
}

/** The account an Account Activity delivery names (for_user_id), or why that is no id. */
function accountActivityAccount(body: Json): Pick<Delivery, 'forUserId' | 'badForUserId'> {
  const forUserId = idString(body.for_user_id) ?? null;
  if (Object.hasOwn(body, 'for_user_id') && forUserId === null) return { forUserId, badForUserId: `for_user_id ${describeValue(body.for_user_id)} is not a Twitter user id` };
  return { forUserId };
}

/** The account an X Activity delivery names (filter.user_id), or why that is no id. */
function xActivityAccount(data: Json): Pick<Delivery, 'forUserId' | 'badForUserId'> {
  const filter = isObject(data.filter) ? data.filter : {};
  const forUserId = idString(filter.user_id) ?? null;
  if (Object.hasOwn(filter, 'user_id') && forUserId === null) return { forUserId, badForUserId: `filter.user_id ${describeValue(filter.user_id)} is not a Twitter user id` };
  return { forUserId };
}

function parseAccountActivity(body: Json): Delivery {
  const delivery: Delivery = {
    format: 'account-activity',
    ...accountActivityAccount(body),
    items: [],
    profiles: readProfiles(body.users),
  };
  let recognised = false;
  for (const [key, value] of Object.entries(body)) {
    if (key === 'direct_message_events') {
      recognised = true;
      readDmEvents(value, delivery.items);
    } else if (key === 'replay_job_status') {
      recognised = true;
      readReplayStatus(value, delivery.items);
    } else if (key === 'user_event') {
      recognised = true;
      readUserEvent(value, delivery.items);
    } else if (Object.hasOwn(IGNORED_KEYS, key) || key.endsWith('_events')) {
      recognised = true;
      const label = IGNORED_KEYS[key] ?? key.replace(/_events$/, '');
      const list = Array.isArray(value) ? value : [value];
      for (const e of list) {
        const senderId = isObject(e) ? idString(e.sender_id) : undefined;
        delivery.items.push({ kind: 'ignored', event: label, reason: `${label} events are not stored`, ...(senderId ? { senderId } : {}) });
      }
    }
  }
  if (!recognised) {
    const keys = Object.keys(body).filter((k) => !CONTEXT_KEYS.has(k));
    delivery.format = 'unknown';
    delivery.items.push({
      kind: 'ignored',
      event: 'unknown',
      reason: keys.length ? `unsupported payload format (keys: ${keys.slice(0, 8).join(', ')})` : 'empty delivery',
    });
  }
  return delivery;
}

/** XAA DM event types that carry no DM to store, with the label the log shows. */
const XAA_IGNORED_DM: Record<string, string> = { 'dm.read': 'read', 'dm.indicate_typing': 'typing' };

function parseXActivity(data: Json): Delivery {
  const eventType = data.event_type as string;
  const payload = isObject(data.payload) ? data.payload : {};
  const delivery: Delivery = {
    format: 'x-activity',
    eventType,
    ...xActivityAccount(data),
    items: [],
    profiles: readProfiles(payload.users),
  };
  if (eventType === 'dm.received' || eventType === 'dm.sent') {
    // The same DM array as the Account Activity API; dedup is on each DM event id, never on event_uuid.
    if (Array.isArray(payload.direct_message_events)) readDmEvents(payload.direct_message_events, delivery.items);
    else delivery.items.push({ kind: 'malformed', event: eventType, reason: `a ${eventType} event without direct_message_events` });
  } else if (Object.hasOwn(XAA_IGNORED_DM, eventType)) {
    const label = XAA_IGNORED_DM[eventType]!;
    const senderId = firstSender(payload);
    delivery.items.push({ kind: 'ignored', event: label, reason: `${eventType} events are not stored`, ...(senderId ? { senderId } : {}) });
  } else if (eventType === 'oauth.revoke') {
    // {date_time, user_id, app_id}; the filter may be empty.
    delivery.items.push({ kind: 'revoke', userId: idString(payload.user_id) ?? delivery.forUserId, at: str(payload.date_time) });
  } else {
    delivery.items.push({ kind: 'ignored', event: eventType, reason: `unsupported payload format: X Activity event ${eventType}` });
  }
  return delivery;
}

/** The sender of the first event of a read/typing payload, whatever its array is called. */
function firstSender(payload: Json): string | undefined {
  for (const value of Object.values(payload)) {
    if (!Array.isArray(value)) continue;
    const first: unknown = value[0];
    if (isObject(first)) return idString(first.sender_id) ?? undefined;
  }
  return undefined;
}

/** {"replay_job_status": {"webhook_id", "job_state", "job_state_description", "job_id"}}. */
function readReplayStatus(value: unknown, items: DeliveryItem[]): void {
  const v = isObject(value) ? value : {};
  const jobId = idString(v.job_id) ?? str(v.job_id);
  const state = str(v.job_state);
  if (!jobId || !state) {
    items.push({ kind: 'malformed', event: 'replay_job_status', reason: `a replay_job_status without ${!jobId ? 'job_id' : 'job_state'}` });
    return;
  }
  items.push({ kind: 'replay_status', jobId, webhookId: idString(v.webhook_id) ?? str(v.webhook_id), state, description: str(v.job_state_description) });
}

/**
 * The account a delivery is for, to find its interaction on a shared webhook: for_user_id or the
 * XAA filter.user_id, else the user of a revocation (whose body names no account). Null when it
 * names none (a replay_job_status).
 */
export function deliveryAccount(delivery: Delivery): string | null {
  if (delivery.forUserId !== null) return delivery.forUserId;
  for (const item of delivery.items) if (item.kind === 'revoke' && item.userId !== null) return item.userId;
  return null;
}

/** users{} maps id → profile; v1.1 profiles are flat, X Activity ones sit under `data` with `username`. */
function readProfiles(users: unknown): Map<string, Profile> {
  const profiles = new Map<string, Profile>();
  if (!isObject(users)) return profiles;
  for (const [id, value] of Object.entries(users)) {
    if (!isObject(value)) continue;
    const u = isObject(value.data) ? value.data : value;
    const screenName = str(u.screen_name) ?? str(u.username);
    const name = str(u.name);
    if (/^\d+$/.test(id) && (screenName !== null || name !== null)) profiles.set(id, { screenName, name });
  }
  return profiles;
}

function readDmEvents(value: unknown, items: DeliveryItem[]): void {
  if (!Array.isArray(value)) {
    items.push({ kind: 'malformed', event: 'direct_message_events', reason: 'direct_message_events is not an array' });
    return;
  }
  for (const e of value) {
    if (!isObject(e)) {
      items.push({ kind: 'malformed', event: 'message_create', reason: 'a DM event is not an object' });
      continue;
    }
    const type = str(e.type) ?? 'unknown';
    if (type !== 'message_create') {
      items.push({ kind: 'ignored', event: type, reason: `DM events of type ${type} are not stored` });
      continue;
    }
    const id = idString(e.id);
    const mc = isObject(e.message_create) ? e.message_create : undefined;
    const senderId = mc ? idString(mc.sender_id) : undefined;
    if (!id || !mc || !senderId) {
      const what = !id ? 'an id' : !mc ? 'message_create' : 'a sender_id';
      items.push({ kind: 'malformed', event: type, reason: `a message_create event without ${what}` });
      continue;
    }
    const target = isObject(mc.target) ? mc.target : {};
    const data = isObject(mc.message_data) ? mc.message_data : {};
    const { text, attachments } = readMessageData(data);
    const quickReply = isObject(data.quick_reply_response) ? data.quick_reply_response : undefined;
    items.push({
      kind: 'dm',
      event: {
        id,
        senderId,
        recipientId: idString(target.recipient_id) ?? null,
        createdAt: timestampIso(e.created_timestamp),
        text,
        attachments,
        quickReplyPayload: str(quickReply?.metadata) ?? null,
      },
    });
  }
}

/** The user of an Account Activity revocation (user_event.revoke.source.user_id), as readUserEvent reads it. */
function revokingUser(value: unknown): string | null {
  if (!isObject(value) || !isObject(value.revoke)) return null;
  const source = isObject(value.revoke.source) ? value.revoke.source : {};
  return idString(source.user_id) ?? null;
}

function readUserEvent(value: unknown, items: DeliveryItem[]): void {
  if (isObject(value) && isObject(value.revoke)) {
    const revoke = value.revoke;
    const source = isObject(revoke.source) ? revoke.source : {};
    items.push({ kind: 'revoke', userId: idString(source.user_id) ?? null, at: str(revoke.date_time) });
    return;
  }
  const keys = isObject(value) ? Object.keys(value).join(', ') : typeof value;
  items.push({ kind: 'ignored', event: 'user_event', reason: `user_event (${keys}) is not acted on` });
}

/** A short, printable rendering of a JSON value for an error message (never the whole of a large value). */
function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/** created_timestamp is milliseconds since the epoch, as a string (or a number in hand-made payloads). */
export function timestampIso(value: unknown): string | null {
  const digits = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  if (!/^\d{1,15}$/.test(digits)) return null;
  const d = new Date(Number(digits));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * The most characters a DM's text may reach by t.co expansion. Twitter caps a DM at 10,000
 * characters and an expanded URL at a few thousand; a body whose entities would grow the text past
 * this (a short "url" found thousands of times, each replaced by a long "expanded_url") is a poison
 * delivery, not a DM: its links stay as t.co links once the bound is reached.
 */
export const MAX_EXPANDED_TEXT = 20_000;

/** Replaces every `short` by `expanded` unless that would take the text past MAX_EXPANDED_TEXT; computed before building anything. */
function expandLink(text: string, short: string, expanded: string): string {
  if (expanded.length > short.length) {
    let count = 0;
    for (let i = text.indexOf(short); i !== -1; i = text.indexOf(short, i + short.length)) count++;
    if (count === 0 || text.length + count * (expanded.length - short.length) > MAX_EXPANDED_TEXT) return text;
  }
  return text.split(short).join(expanded);
}

function readMessageData(data: Json): { text: string; attachments: Attachment[] } {
  let text = str(data.text) ?? '';
  const entities = isObject(data.entities) ? data.entities : {};
  const urls = Array.isArray(entities.urls) ? entities.urls : [];
  for (const u of urls) {
    if (!isObject(u)) continue;
    const short = str(u.url);
    const expanded = str(u.expanded_url);
    if (short && expanded) text = expandLink(text, short, expanded);
  }
  const attachments: Attachment[] = [];
  const attachment = isObject(data.attachment) ? data.attachment : undefined;
  if (attachment) {
    const media = isObject(attachment.media) ? attachment.media : undefined;
    attachments.push({
      type: str(media?.type) ?? str(attachment.type) ?? 'unknown',
      mediaUrl: str(media?.media_url_https) ?? str(media?.media_url),
      idStr: str(media?.id_str) ?? idString(media?.id) ?? null,
    });
    // Twitter appends the media's t.co link to the text; the attachment already carries the media.
    const mediaLink = str(media?.url);
    if (mediaLink) text = text.split(mediaLink).join('').trim();
  }
  return { text, attachments };
}
