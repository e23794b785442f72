// The intake of X Activity API (XAA) deliveries, with the bodies the fake X really delivers to a
// webhook (signed, in X's envelope): dm.received becomes a ticket, dm.sent is the account's own echo,
// dedup is on the DM event id and never on event_uuid, dm.read / dm.indicate_typing are ignored,
// oauth.revoke marks the interaction, and replay_job_status is recorded for `omni webhook replay`.
import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { recordReplayJobRequested, replayJobStatus } from '../../src/db/replay-jobs.js';
import { storeMessageStep } from '../../src/tickets/open.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { appBearer, raw } from '../support/fake-x/client.js';
import { startWebhookReceiver } from '../support/fake-x/receiver.js';
import { engineIntakeHarness, stepRunner, type EngineIntakeHarness as IntakeHarness } from '../support/intake.js';
import { TEST_SECRETS } from '../support/seed.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';

const CUSTOMER = { id: '9876543210987654321', username: 'jane', name: 'Jane Doe' };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** The fake X, a webhook receiver standing where omni listen would, and XAA subscriptions of the account to it. */
async function setup(eventTypes: string[] = ['dm.received', 'dm.sent']) {
  const tw: FakeTwitter = await startFakeTwitter({ apps: [testApp()], users: [testUser()], retryDelaysMs: [30], deliveryTimeoutMs: 1000, x: { clients: [{ clientId: 'cid', redirectUris: [] }] } });
  closers.push(() => tw.close());
  const r = await startWebhookReceiver(TEST_SECRETS.apiSecretKey);
  closers.push(() => r.close());
  const bearer = await appBearer(tw.url, TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey);
  const hook = (await raw(tw.url, 'POST', '/2/webhooks', { token: bearer, json: { url: r.url } })).body.data as { id: string };
  const user = tw.x.issueTokens(ACCOUNT_ID).access_token;
  for (const event_type of eventTypes) {
    const sub = await raw(tw.url, 'POST', '/2/activity/subscriptions', { token: event_type === 'oauth.revoke' ? bearer : user, json: { event_type, filter: { user_id: ACCOUNT_ID }, webhook_id: hook.id, tag: 'omni:1' } });
    expect(sub.status).toBe(200);
  }
  const h = await engineIntakeHarness({ accountUserId: ACCOUNT_ID });
  closers.push(() => h.close());
  /** The next body X delivers to the webhook (signature checked by the receiver). */
  const next = async (what: string, match: (j: any) => boolean = () => true): Promise<string> => {
    const d = await waitFor(() => r.received.find((x) => !seen.has(x) && match(x.json)), what);
    seen.add(d);
    expect(d.signatureOk).toBe(true);
    return d.body;
  };
  const seen = new Set<unknown>();
  return { tw, r, h, hook, bearer, user, next };
}

const count = (h: IntakeHarness, table: 'replay_jobs') => h.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow().then((r) => Number(r.n));
const withUuid = (body: string, uuid: string) => {
  const j = JSON.parse(body);
  j.data.event_uuid = uuid;
  return JSON.stringify(j);
};

describe('intake of X Activity API deliveries (fake X)', () => {
  it('turns a dm.received into a requester (v2 username), a ticket and a message', async () => {
    const { tw, h, next } = await setup();
    const { event } = tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'my order is late' });
    const body = await next('the dm.received delivery');
    expect(await h.intake(body)).toEqual([expect.objectContaining({ event: 'message_create', outcome: 'new_ticket', id: event.id, sender: CUSTOMER.id, screenName: 'jane' })]);
    expect(await h.db.kysely.selectFrom('requesters').select(['screen_name', 'name']).execute()).toEqual([{ screen_name: 'jane', name: 'Jane Doe' }]);
    expect(await h.db.kysely.selectFrom('messages').select(['direction', 'text', 'twitter_event_id']).execute()).toEqual([{ direction: 'inbound', text: 'my order is late', twitter_event_id: event.id }]);
  });

  it('deduplicates on the DM event id, never on event_uuid', async () => {
    const { tw, h, next } = await setup();
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'first' });
    const first = await next('the first delivery');
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'second' });
    const second = await next('the second delivery');
    expect((await h.intake(first))[0]).toMatchObject({ outcome: 'new_ticket' });
    // The same DM in another envelope (a backfill, the stream beside the webhook): a new event_uuid.
    expect((await h.intake(withUuid(first, crypto.randomUUID())))[0]).toMatchObject({ outcome: 'duplicate', detail: 'already stored' });
    // Another DM that happens to carry the first envelope's event_uuid is still stored.
    const uuid = JSON.parse(first).data.event_uuid as string;
    expect((await h.intake(withUuid(second, uuid)))[0]).toMatchObject({ outcome: 'appended' });
    expect(await h.count('messages')).toBe(2);
  });

  it('takes dm.sent as the account\'s own echo: linked to the stored outbound message by its DM event id, never a ticket', async () => {
    const { tw, h, user, next } = await setup();
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'hello?' });
    const [opened] = await h.intake(await next('the dm.received delivery'));
    // omni sends a reply; the outbox stores X's dm_event_id on the message, as it does for v1.1.
    const sent = await raw(tw.url, 'POST', `/2/dm_conversations/with/${CUSTOMER.id}/messages`, { token: user, json: { text: 'on its way' } });
    expect(sent.status).toBe(201);
    const dmEventId = sent.body.data.dm_event_id as string;
    const at = new Date().toISOString();
    const message = (await stepRunner(h.db)(storeMessageStep({ ticketId: opened!.ticket!, interactionId: h.interactionId, direction: 'outbound', text: 'on its way', twitterEventId: dmEventId, senderTwitterId: ACCOUNT_ID, sentAt: at, attachments: '[]', at })))!;
    const echo = await next('the dm.sent delivery', (j) => j.data?.event_type === 'dm.sent');
    expect(await h.intake(echo)).toEqual([expect.objectContaining({ outcome: 'echo', id: dmEventId, ticket: opened!.ticket, message, detail: `matches message ${message}` })]);
    expect((await h.intake(withUuid(echo, crypto.randomUUID())))[0]).toMatchObject({ outcome: 'echo', message });
    expect([await h.count('tickets'), await h.count('messages'), await h.count('requesters')]).toEqual([1, 2, 1]);

    // Sent from X's own app (not by omni): stored on the recipient's open ticket as outbound.
    const other = await raw(tw.url, 'POST', `/2/dm_conversations/with/${CUSTOMER.id}/messages`, { token: user, json: { text: 'typed in the X app' } });
    const outside = await next('the second dm.sent', (j) => j.data?.payload?.direct_message_events?.[0]?.id === other.body.data.dm_event_id);
    expect((await h.intake(outside))[0]).toMatchObject({ outcome: 'echo', ticket: opened!.ticket, detail: 'sent from outside omni; stored as an outbound message' });
  });

  it('refuses a dm.sent whose sender is not the account: never a ticket', async () => {
    const { tw, h, next } = await setup();
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'hi' });
    const body = JSON.parse(await next('a delivery'));
    body.data.event_type = 'dm.sent';
    expect(await h.intake(JSON.stringify(body))).toEqual([expect.objectContaining({ outcome: 'rejected', detail: `a dm.sent event whose sender is not the account ${ACCOUNT_ID}` })]);
    expect(await h.count('tickets')).toBe(0);
  });

  it('ignores dm.read and dm.indicate_typing, even when their payload looks like a DM', async () => {
    const { tw, h, next } = await setup(['dm.received', 'dm.read', 'dm.indicate_typing']);
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'hi' });
    const dm = JSON.parse(await next('the dm.received delivery'));
    tw.x.publishXaa('dm.read', ACCOUNT_ID, { direct_message_mark_read_events: [{ created_timestamp: String(Date.now()), sender_id: CUSTOMER.id, target: { recipient_id: ACCOUNT_ID }, last_read_event_id: '1' }] });
    expect(await h.intake(await next('the dm.read delivery', (j) => j.data?.event_type === 'dm.read'))).toEqual([
      expect.objectContaining({ event: 'read', outcome: 'ignored', sender: CUSTOMER.id, detail: 'dm.read events are not stored' }),
    ]);
    // A typing event carrying a message_create array is still not a DM.
    tw.x.publishXaa('dm.indicate_typing', ACCOUNT_ID, dm.data.payload);
    expect(await h.intake(await next('the typing delivery', (j) => j.data?.event_type === 'dm.indicate_typing'))).toEqual([expect.objectContaining({ event: 'typing', outcome: 'ignored' })]);
    expect([await h.count('requesters'), await h.count('tickets'), await h.count('messages')]).toEqual([0, 0, 0]);
  });

  it('marks the interaction revoked on oauth.revoke of its account', async () => {
    const { tw, h, next } = await setup(['oauth.revoke']);
    tw.x.userRevokesApp(ACCOUNT_ID);
    const body = await next('the oauth.revoke delivery', (j) => j.data?.event_type === 'oauth.revoke');
    expect(await h.intake(body)).toEqual([expect.objectContaining({ event: 'revoke', outcome: 'revoked', sender: ACCOUNT_ID })]);
    expect((await h.db.kysely.selectFrom('interactions').select('revoked_at').executeTakeFirstOrThrow()).revoked_at).not.toBeNull();
  });

  it('records replay_job_status for the replay command, once however often X delivers it', async () => {
    const { tw, r, h, hook, bearer, next } = await setup();
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'before the replay' });
    await next('the delivery');
    const ymd = (d: Date) => d.toISOString().slice(0, 16).replace(/[-T:]/g, '');
    const job = await raw(tw.url, 'POST', '/2/webhooks/replay', { token: bearer, json: { webhook_id: hook.id, from_date: ymd(new Date(Date.now() - 600_000)), to_date: ymd(new Date()) } });
    expect(job.status).toBe(200);
    const jobId = job.body.data.job_id as string;
    await recordReplayJobRequested(h.db.kysely, { jobId, webhookId: hook.id, interactionId: h.interactionId, at: '2026-12-01T07:00:00.000Z' });
    expect(await replayJobStatus(h.db.kysely, jobId)).toMatchObject({ state: 'requested', reported_at: null });

    const status = await next('replay_job_status', (j) => j.replay_job_status !== undefined);
    expect(r.received.some((d) => (d.json as any).replay_job_status)).toBe(true);
    const [result] = await h.intake(status);
    expect(result).toMatchObject({ event: 'replay_job_status', outcome: 'recorded', id: jobId, detail: `replay job ${jobId} of webhook ${hook.id}: Complete (Job completed successfully)` });
    const stored = await replayJobStatus(h.db.kysely, jobId);
    expect(stored).toMatchObject({ job_id: jobId, webhook_id: hook.id, interaction_id: h.interactionId, state: 'Complete', description: 'Job completed successfully', requested_at: '2026-12-01T07:00:00.000Z' });
    expect(stored!.reported_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    await h.intake(status);
    expect(await count(h, 'replay_jobs')).toBe(1);
    expect([await h.count('tickets'), await h.count('messages')]).toEqual([0, 0]);
  });

  it('rejects a replay_job_status without a job id, and stores nothing', async () => {
    const { h } = await setup([]);
    expect(await h.intake(JSON.stringify({ replay_job_status: { webhook_id: '1', job_state: 'Complete' } }))).toEqual([
      expect.objectContaining({ event: 'replay_job_status', outcome: 'rejected', detail: 'a replay_job_status without job_id' }),
    ]);
    expect(await count(h, 'replay_jobs')).toBe(0);
  });
});
