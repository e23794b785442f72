// Direct Messages of the fake X: POST /2/dm_conversations/with/{id}/messages (user context with
// dm.write; 201 with dm_event_id; 15 per 15 min per user with X's rate-limit headers), GET
// /2/dm_events (the account's history, newest first, paginated, rate limited), and the test side:
// a customer DMs a support account, delivered as XAA dm.received envelopes and AAA v2 bodies.
import { problem, json, RateLimiter, timeSnowflake, type XHost, type XRoute } from './common.js';
import type { FakeActivity } from './activity.js';
import type { FakeOAuth2 } from './oauth2.js';
import type { XDelivery } from './webhooks.js';

export interface DmOptions {
  /** DMs sent per user per window (X pay-per-use: 15 per 15 min). */
  dmSendLimit?: { limit: number; windowMs: number };
  /** GET /2/dm_events per user per window (15 per 15 min). */
  dmEventsLimit?: { limit: number; windowMs: number };
}

export interface XDmEvent {
  id: string;
  senderId: string;
  recipientId: string;
  text: string;
  createdAt: number;
  conversationId: string;
  /** How it entered X: sent through the API by the account, or by a customer in the app. */
  via: 'api' | 'customer';
}

export interface Person {
  id: string;
  username?: string;
  name?: string;
}

const conversationId = (a: string, b: string) => (BigInt(a) < BigInt(b) ? `${a}-${b}` : `${b}-${a}`);

export function createDm(host: XHost, auth: FakeOAuth2, activity: FakeActivity, opts: DmOptions) {
  const send = new RateLimiter(opts.dmSendLimit?.limit ?? 15, opts.dmSendLimit?.windowMs ?? 15 * 60_000);
  const history = new RateLimiter(opts.dmEventsLimit?.limit ?? 15, opts.dmEventsLimit?.windowMs ?? 15 * 60_000);
  const events: XDmEvent[] = [];
  /** What X bills for these endpoints: DM events read (once per user, event and UTC day) and DMs sent. */
  const reads = new Set<string>();
  const billed = { read: 0, sent: 0 };

  /** The customers' profiles as they last wrote: X's users lookup for the history's includes.users. */
  const people = new Map<string, Person>();
  const person = (id: string, given: Person | undefined = people.get(id)): Person => {
    const u = host.users().find((x) => x.userId === id);
    return { id, username: given?.username ?? u?.screenName ?? `user${id}`, name: given?.name ?? u?.name ?? u?.screenName ?? `user ${id}` };
  };
  const v2User = (p: Person) => ({ id: p.id, username: p.username, name: p.name, protected: false, verified: false, created_at: '2020-01-01T00:00:00.000Z' });
  const v1User = (p: Person) => ({ id: p.id, id_str: p.id, screen_name: p.username, name: p.name, protected: false, verified: false, followers_count: 1, friends_count: 1, statuses_count: 1, created_timestamp: '1577836800000' });
  const dmEventV11 = (e: XDmEvent, appId?: string) => ({
    type: 'message_create',
    id: e.id,
    created_timestamp: String(e.createdAt),
    message_create: {
      target: { recipient_id: e.recipientId },
      sender_id: e.senderId,
      ...(appId ? { source_app_id: appId } : {}),
      message_data: { text: e.text, entities: { hashtags: [], symbols: [], user_mentions: [], urls: [] } },
    },
  });

  /** Fans an event out: XAA to `forUser`'s subscriptions of `eventType`, AAA v2 to its webhooks. */
  function publish(e: XDmEvent, forUser: string, eventType: 'dm.received' | 'dm.sent', sender: Person, recipient: Person, appId?: string) {
    const payload = { direct_message_events: [dmEventV11(e, appId)], users: { [sender.id]: { data: v2User(sender) }, [recipient.id]: { data: v2User(recipient) } } };
    const xaa = activity.publishXaa(eventType, forUser, payload);
    const aaa = activity.publishAaa(forUser, (_webhookId, consumerKey) => {
      const app = host.apps.get(consumerKey)!;
      return {
        for_user_id: forUser,
        direct_message_events: [dmEventV11(e, appId)],
        ...(appId ? { apps: { [appId]: { id: appId, name: app.name, url: 'https://example.com' } } } : {}),
        users: { [sender.id]: v1User(sender), [recipient.id]: v1User(recipient) },
      };
    });
    return { xaa, aaa };
  }

  const routes: XRoute[] = [
    [
      'POST',
      /^\/2\/dm_conversations\/with\/(\d+)\/messages$/,
      (c, m) => {
        const who = auth.requireAuth(c, { user: ['dm.write', 'tweet.read', 'users.read'], oauth1: true });
        const app = host.apps.get(who.consumerKey)!;
        if (who.kind === 'oauth1' && !app.dmPermission) throw problem(403, 'Forbidden', 'This application is not allowed to access or delete your direct messages.', 'client-forbidden');
        const headers = send.take(who.userId!);
        const b = json(c.body);
        const text = b.text;
        const hasMedia = Array.isArray(b.attachments) && b.attachments.length > 0;
        if ((typeof text !== 'string' || text === '') && !hasMedia) throw problem(400, 'Invalid Request', 'One of text or attachments is required.', 'invalid-request');
        if (typeof text === 'string' && [...text].length > 10_000) throw problem(400, 'Invalid Request', 'text must be at most 10000 characters.', 'invalid-request');
        const recipientId = m[1]!;
        if (host.closedDms.has(recipientId)) throw problem(403, 'Forbidden', 'You cannot send messages to this user.', 'not-authorized-for-resource');
        const e: XDmEvent = { id: timeSnowflake(), senderId: who.userId!, recipientId, text: typeof text === 'string' ? text : '', createdAt: Date.now(), conversationId: conversationId(who.userId!, recipientId), via: 'api' };
        events.push(e);
        billed.sent++;
        publish(e, e.senderId, 'dm.sent', person(e.senderId), person(recipientId), app.appId);
        return { status: 201, headers, body: { data: { dm_conversation_id: e.conversationId, dm_event_id: e.id } } };
      },
    ],
    [
      'GET',
      /^\/2\/dm_events$/,
      (c) => {
        const who = auth.requireAuth(c, { user: ['dm.read', 'tweet.read', 'users.read'], oauth1: true });
        const headers = history.take(who.userId!);
        const max = c.query.has('max_results') ? Number(c.query.get('max_results')) : 100;
        if (!Number.isInteger(max) || max < 1 || max > 100) throw problem(400, 'Invalid Request', 'The `max_results` query parameter value must be between 1 and 100.', 'invalid-request');
        const types = (c.query.get('event_types') ?? 'MessageCreate').split(',');
        const mine = types.includes('MessageCreate') ? events.filter((e) => e.senderId === who.userId || e.recipientId === who.userId).sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1)) : [];
        let start = 0;
        const token = c.query.get('pagination_token');
        if (token !== null) {
          start = Number(Buffer.from(token, 'base64url').toString());
          if (!Number.isInteger(start) || start < 0) throw problem(400, 'Invalid Request', 'The `pagination_token` query parameter value is not valid.', 'invalid-request');
        }
        const fields = new Set((c.query.get('dm_event.fields') ?? '').split(',').filter(Boolean));
        const page = mine.slice(start, start + max).map((e) => ({
          id: e.id,
          event_type: 'MessageCreate',
          text: e.text,
          ...(fields.has('sender_id') ? { sender_id: e.senderId } : {}),
          ...(fields.has('created_at') ? { created_at: new Date(e.createdAt).toISOString() } : {}),
          ...(fields.has('dm_conversation_id') ? { dm_conversation_id: e.conversationId } : {}),
          ...(fields.has('participant_ids') ? { participant_ids: [e.senderId, e.recipientId] } : {}),
        }));
        for (const e of mine.slice(start, start + max)) {
          const key = `${who.userId}:${e.id}:${new Date().toISOString().slice(0, 10)}`;
          if (!reads.has(key)) {
            reads.add(key);
            billed.read++;
          }
        }
        // expansions=sender_id,participant_ids: the users of the page in includes.users.
        const expansions = new Set((c.query.get('expansions') ?? '').split(',').filter(Boolean));
        const userIds = new Set<string>();
        for (const e of mine.slice(start, start + max)) {
          if (expansions.has('sender_id')) userIds.add(e.senderId);
          if (expansions.has('participant_ids')) [e.senderId, e.recipientId].forEach((id) => userIds.add(id));
        }
        const includes = userIds.size > 0 ? { includes: { users: [...userIds].map((id) => { const p = person(id); return { id, username: p.username, name: p.name }; }) } } : {};
        const next = start + max < mine.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
        return { status: 200, headers, body: { ...(page.length ? { data: page } : {}), ...includes, meta: { result_count: page.length, ...(next ? { next_token: next } : {}) } } };
      },
    ],
  ];

  return {
    routes,
    events,
    billed,
    /** Tests: a customer DMs a support account; X records it and delivers it to every subscription. */
    customerSendsDm(p: { from: Person; toUserId: string; text: string }): { event: XDmEvent; deliveries: XDelivery[]; envelopes: Array<Record<string, unknown>> } {
      people.set(p.from.id, p.from);
      const e: XDmEvent = { id: timeSnowflake(), senderId: p.from.id, recipientId: p.toUserId, text: p.text, createdAt: Date.now(), conversationId: conversationId(p.from.id, p.toUserId), via: 'customer' };
      events.push(e);
      const { xaa, aaa } = publish(e, p.toUserId, 'dm.received', person(p.from.id, p.from), person(p.toUserId));
      return { event: e, deliveries: [...xaa.flatMap((x) => (x.delivery ? [x.delivery] : [])), ...aaa], envelopes: xaa.map((x) => x.envelope) };
    },
  };
}
