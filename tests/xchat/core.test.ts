// X Chat end to end below the listener: setup (generate, register, import, rotate, resume after X's
// daily limit), receive (decrypt and verify a customer's chat.received, key changes first, tampering
// refused) and send (an encrypted reply the customer's app decrypts to the same text), against the fake
// X acting as the customer's X Chat app on the real SDK, with a real SQLite file. Nothing is mocked.
import { afterEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/db/audit.js';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { loadSecretBox, type SecretBox } from '../../src/secrets.js';
import { TwitterError } from '../../src/twitter/errors.js';
import { createXGateway, type XGateway } from '../../src/twitter/gateway-v2.js';
import { activityStream } from '../../src/twitter/stream.js';
import { createUserTokenSource, storeAuthorization } from '../../src/twitter/user-token.js';
import { ownRegisteredKeys, SigningKeyDirectory, storedKeyCache } from '../../src/xchat/keys.js';
import { receiveChatEvent, type ChatReceiveOutcome } from '../../src/xchat/receive.js';
import { XChatIdentity } from '../../src/xchat/sdk.js';
import { sendChatMessage } from '../../src/xchat/send.js';
import { openXChatSession } from '../../src/xchat/session.js';
import { setupXChat } from '../../src/xchat/setup.js';
import { loadActiveXChatIdentity, loadConversationRing, loadRetiredXChatIdentities, xchatState } from '../../src/xchat/store.js';
import { startFakeTwitter, type FakeTwitterOptions } from '../support/fake-twitter.js';
import { startWebhookReceiver } from '../support/fake-x/receiver.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { storedBytes } from '../support/db-snapshot.js';
import { testDatabase, testSecretEnv } from '../support/engine.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';

const CUSTOMER = '9876543210987654321';
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(opts: { x?: FakeTwitterOptions['x']; scopes?: string[] } = {}) {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], retryDelaysMs: [30], deliveryTimeoutMs: 1000, x: { clients: [{ clientId: 'cid', redirectUris: [] }], ...opts.x } });
  closers.push(() => tw.close());
  const dbPath = testDatabase();
  const { id } = await seedInteraction(dbPath, { accountUserId: ACCOUNT_ID });
  const db = await openDatabase(dbPath);
  closers.push(() => db.close());
  const box = loadSecretBox(dbPath, testSecretEnv(dbPath));
  const issued = tw.x.issueTokens(ACCOUNT_ID, opts.scopes ? { scopes: opts.scopes } : {});
  await storeAuthorization(db.kysely, box, id, { accessToken: issued.access_token, refreshToken: issued.refresh_token ?? null, expiresAt: new Date(Date.now() + 7200_000).toISOString(), scopes: issued.scope }, { userId: ACCOUNT_ID, username: 'acme_support', name: null });
  const gw = createXGateway({
    baseUrl: tw.url,
    timeoutMs: 5000,
    app: TEST_SECRETS,
    userToken: createUserTokenSource({ db: db.kysely, box, interactionId: id, client: { apiBaseUrl: tw.url, clientId: 'cid', timeoutMs: 5000 } }),
  });
  closers.push(() => gw.close());
  const command = `omni interaction xchat setup ${id}`;
  const runSetup = (o: { rotate?: boolean; importBlob?: Uint8Array; warn?: () => void } = {}) =>
    setupXChat({ db: db.kysely, box, api: gw, interactionId: id, accountUserId: ACCOUNT_ID, rotate: o.rotate ?? false, ...(o.importBlob ? { importBlob: o.importBlob } : {}), now: () => new Date(), actor: 'test', command, ...(o.warn ? { beforeRegistration: o.warn } : {}) });
  return { tw, db, box, gw, id, dbPath, runSetup };
}

/** What the listener will build per interaction: the identity, the signing-key directory, the cache. */
async function omniSide(db: Db, box: SecretBox, gw: XGateway, id: number) {
  const identity = await loadActiveXChatIdentity(db.kysely, box, id);
  if (!identity) throw new Error('X Chat is not set up');
  closers.push(() => identity.dispose());
  const directory = new SigningKeyDirectory(gw, identity, await ownRegisteredKeys(db.kysely, id));
  const keys = storedKeyCache(db.kysely, box, id);
  return { identity, directory, keys, api: gw };
}

function message(o: ChatReceiveOutcome) {
  if (o.status !== 'message') throw new Error(`expected a message, got ${JSON.stringify(o)}`);
  return o.message;
}

describe('xchat setup', () => {
  it('generates and registers keys once, refuses a second registration without --rotate, and rotates with it', async () => {
    const { tw, db, id, runSetup } = await setup();
    let warned = 0;
    const first = await runSetup({ warn: () => warned++ });
    expect(first.action).toBe('registered');
    expect(warned).toBe(1);
    expect(first.identity).toMatchObject({ keyVersion: 1, status: 'active', origin: 'generated', accountUserId: ACCOUNT_ID });
    const atX = tw.x.chatPublicKeys(ACCOUNT_ID);
    expect(atX.map((k) => k.public_key_version)).toEqual([first.identity.publicKeyVersion]);
    expect(atX[0]!.public_key).toBe(first.identity.publicKey);

    const again = await runSetup().then(() => { throw new Error('expected a refusal'); }, (e: unknown) => e as Error);
    expect(again).toBeInstanceOf(Error);
    expect((again as Error).message).toContain('already has an X Chat identity');
    expect(tw.x.chatPublicKeys(ACCOUNT_ID)).toHaveLength(1);

    const rotated = await runSetup({ rotate: true });
    expect(rotated.action).toBe('rotated');
    expect(rotated.identity.keyVersion).toBe(2);
    expect(rotated.identity.fingerprint).not.toBe(first.identity.fingerprint);
    expect(rotated.replaced?.fingerprint).toBe(first.identity.fingerprint);
    const state = await xchatState(db.kysely, id);
    expect(state.active?.keyVersion).toBe(2);
    expect(state.retired).toBe(1);

    // The audit says what happened, with versions and fingerprints only.
    const audit = await listAudit(db.kysely, { entity: 'interaction', entityId: String(id) });
    expect(audit.map((a) => a.action)).toEqual(['xchat-register', 'xchat-keys-created', 'xchat-register', 'xchat-keys-created']);
    for (const a of audit) expect(Object.keys(JSON.parse(a.changes)).sort()).toEqual(expect.arrayContaining(['fingerprint', 'keyVersion']));
  });

  it("keeps the keys when X's daily registration limit answers 429 and registers the same keys on the next run", async () => {
    const { tw, db, id, runSetup } = await setup({ x: { publicKeyRegistrationLimit: { limit: 1, windowMs: 400 } } });
    await runSetup();
    const err = await runSetup({ rotate: true }).then(() => { throw new Error('expected a refusal'); }, (e: unknown) => e as TwitterError);
    expect(err.message).toMatch(/rate limit .* used up until/);
    expect(err.hint).toContain(`omni interaction xchat setup ${id} again: it retries with the same keys`);
    const state = await xchatState(db.kysely, id);
    expect(state.pending?.keyVersion).toBe(2);
    expect(state.active?.keyVersion).toBe(1);
    await new Promise((r) => setTimeout(r, 450));
    const resumed = await runSetup();
    expect(resumed.action).toBe('resumed');
    expect(resumed.identity).toMatchObject({ keyVersion: 2, status: 'active', fingerprint: state.pending!.fingerprint });
    expect(tw.x.chatPublicKeys(ACCOUNT_ID).at(-1)!.public_key).toBe(state.pending!.publicKey);
  });

  it('an import supersedes keys still pending registration: a later setup does not register them', async () => {
    const { tw, db, id, runSetup } = await setup({ x: { publicKeyRegistrationLimit: { limit: 1, windowMs: 60_000 } } });
    await runSetup();
    await runSetup({ rotate: true }).then(() => { throw new Error('expected the daily limit'); }, () => undefined);
    expect((await xchatState(db.kysely, id)).pending).toBeDefined();
    const { identity, registration } = await XChatIdentity.generate(ACCOUNT_ID);
    closers.push(() => identity.dispose());
    tw.x.addChatPublicKey(ACCOUNT_ID, { public_key_version: '88', public_key: registration.public_key.public_key, signing_public_key: registration.public_key.signing_public_key, identity_public_key_signature: registration.public_key.identity_public_key_signature });
    await runSetup({ importBlob: identity.exportKeyBlob(), rotate: true });
    const state = await xchatState(db.kysely, id);
    expect(state.pending).toBeUndefined();
    expect(state.active).toMatchObject({ publicKeyVersion: '88', fingerprint: identity.fingerprint() });
    const again = await runSetup().then(() => undefined, (e: unknown) => e as Error);
    expect(again?.message).toContain('already has an X Chat identity');
  });

  it('imports a key blob X knows (no registration spent) and refuses one X does not know', async () => {
    const { tw, runSetup } = await setup();
    const { identity, registration } = await XChatIdentity.generate(ACCOUNT_ID);
    closers.push(() => identity.dispose());
    tw.x.addChatPublicKey(ACCOUNT_ID, { public_key_version: '77', public_key: registration.public_key.public_key, signing_public_key: registration.public_key.signing_public_key, identity_public_key_signature: registration.public_key.identity_public_key_signature });

    const refused = await runSetup().then(() => { throw new Error('expected a refusal'); }, (e: unknown) => e as Error);
    expect(refused.message).toContain('X already holds X Chat keys for user');

    const { identity: stranger } = await XChatIdentity.generate(ACCOUNT_ID);
    closers.push(() => stranger.dispose());
    const unknown = await runSetup({ importBlob: stranger.exportKeyBlob() }).then(() => { throw new Error('expected a refusal'); }, (e: unknown) => e as Error);
    expect(unknown.message).toContain('the imported key is not registered at X');

    const blob = identity.exportKeyBlob();
    const imported = await runSetup({ importBlob: blob });
    expect(blob.every((b) => b === 0)).toBe(true); // wiped after use
    expect(imported.action).toBe('imported');
    expect(imported.identity).toMatchObject({ publicKeyVersion: '77', fingerprint: identity.fingerprint(), origin: 'imported', status: 'active' });
    expect(tw.x.chatPublicKeys(ACCOUNT_ID)).toHaveLength(1);
  });

  it('needs dm.write to register: X refuses the token without it and nothing becomes active', async () => {
    const { db, id, runSetup } = await setup({ scopes: ['dm.read', 'tweet.read', 'users.read', 'offline.access'] });
    const err = await runSetup().then(() => { throw new Error('expected a refusal'); }, (e: unknown) => e as TwitterError);
    expect(err.message).toContain('dm.write');
    expect((await xchatState(db.kysely, id)).active).toBeUndefined();
  });
});

describe('xchat receive and send', () => {
  it('round trip: a customer message through the webhook decrypts to its text; the reply decrypts to ours at the customer', async () => {
    const { tw, db, box, gw, id, runSetup } = await setup();
    await runSetup();
    const r = await startWebhookReceiver(TEST_SECRETS.apiSecretKey);
    closers.push(() => r.close());
    const hook = await gw.createWebhook(r.url);
    await gw.createActivitySubscription({ eventType: 'chat.received', userId: ACCOUNT_ID, webhookId: hook.id, tag: `omni:${id}` });
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    chatter.says('Hello, my order #42 is late 📦', { attachments: [{ attachment_type: 'media', media_hash_key: 'mhk-abc123', width: 10, height: 10, filesize_bytes: 2048, filename: 'receipt.jpg' }] });
    await waitFor(() => r.received.length === 1 || undefined, 'the chat.received delivery');
    expect(r.received[0]!.signatureOk).toBe(true);

    const omni = await omniSide(db, box, gw, id);
    const out = await receiveChatEvent(omni, r.received[0]!.json);
    const m = message(out);
    expect(m).toMatchObject({ direction: 'received', senderId: CUSTOMER, peerId: CUSTOMER, conversationId: chatter.conversationId, text: 'Hello, my order #42 is late 📦' });
    expect(m.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(m.attachments).toEqual([expect.objectContaining({ type: 'media', mediaHashKey: 'mhk-abc123', filename: 'receipt.jpg' })]);
    expect(Date.parse(m.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(out.status === 'message' && out.learnedKeyVersions).toHaveLength(1);

    const sent = await sendChatMessage(omni, { peerId: CUSTOMER, text: 'We are on it — sorry for the wait', replyToEvent: m.encodedEvent, ...(m.conversationToken ? { conversationToken: m.conversationToken } : {}) });
    expect(sent.createdKeyVersion).toBeUndefined();
    expect(chatter.reads().map((x) => x.text)).toEqual(['We are on it — sorry for the wait']);
    expect(sent.encodedMessageEvent).toEqual(expect.any(String));
  });

  it('delivers chat.received on the activity stream too, and the envelope decrypts the same way', async () => {
    const { tw, db, box, gw, id, runSetup } = await setup();
    await runSetup();
    await gw.createActivitySubscription({ eventType: 'chat.received', userId: ACCOUNT_ID, tag: `omni:${id}` });
    const ctl = new AbortController();
    closers.push(() => ctl.abort());
    const got: unknown[] = [];
    const reading = (async () => {
      for await (const env of activityStream({ baseUrl: tw.url, bearer: () => gw.appBearer(), signal: ctl.signal, stallMs: 5000, backoff: { initialMs: 20, maxMs: 100 } })) got.push(env);
    })().catch(() => undefined);
    await waitFor(() => tw.x.streamConnections() === 1 || undefined, 'the stream connection');
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    chatter.says('via the stream');
    const envelope = await waitFor(() => got[0], 'the chat.received line');
    const omni = await omniSide(db, box, gw, id);
    expect(message(await receiveChatEvent(omni, envelope))).toMatchObject({ text: 'via the stream', senderId: CUSTOMER, eventType: 'chat.received' });
    ctl.abort();
    await reading;
  });

  it('X Chat endpoints take only the user token with their scopes, and a hyphenated conversation id', async () => {
    const { tw, gw, runSetup } = await setup();
    await runSetup();
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    const bearer = await gw.appBearer();
    const asApp = await fetch(`${tw.url}/2/users/${CUSTOMER}/public_keys`, { headers: { authorization: `Bearer ${bearer}` } });
    expect(asApp.status).toBe(403);
    expect(((await asApp.json()) as { title: string }).title).toBe('Unsupported Authentication');
    expect((await gw.chatPublicKeys(CUSTOMER)).map((k) => k.public_key)).toEqual([chatter.customer.registered.public_key]);
    const token = tw.x.issueTokens(ACCOUNT_ID, { scopes: ['dm.read', 'tweet.read', 'users.read'] }).access_token;
    const readOnly = await fetch(`${tw.url}/2/chat/conversations/${chatter.customer.urlConversationId}/messages`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(readOnly.status).toBe(403);
    expect(((await readOnly.json()) as { detail: string }).detail).toContain('dm.write');
    const colon = await fetch(`${tw.url}/2/chat/conversations/${encodeURIComponent(chatter.conversationId)}/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(colon.status).toBe(400);
  });

  it('refuses a tampered signature (fail closed) and records why; a good message after it still decrypts', async () => {
    const { tw, db, box, gw, id, runSetup } = await setup();
    await runSetup();
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    const omni = await omniSide(db, box, gw, id);
    const bad = await receiveChatEvent(omni, chatter.saysTampered('Send the refund to my other account'));
    expect(bad).toMatchObject({ status: 'rejected', reason: 'bad_signature', senderId: CUSTOMER, eventType: 'chat.received' });
    expect(JSON.stringify(bad)).not.toContain('refund');
    expect(message(await receiveChatEvent(omni, chatter.says('the real me'))).text).toBe('the real me');
  });

  it('keeps working through a conversation key rotation, and after a restart with no key change in the payload', async () => {
    const { tw, db, box, gw, id, dbPath, runSetup } = await setup();
    await runSetup();
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    let omni = await omniSide(db, box, gw, id);
    const one = message(await receiveChatEvent(omni, chatter.says('one')));
    chatter.rotatesKey();
    const two = message(await receiveChatEvent(omni, chatter.says('two')));
    expect(two.conversationKeyVersion).not.toBe(one.conversationKeyVersion);
    // omni answers under the newest key (the fake refuses older ones, as X does).
    const reply = await sendChatMessage(omni, { peerId: CUSTOMER, text: 'after rotation', replyToEvent: two.encodedEvent });
    expect(reply.conversationKeyVersion).toBe(two.conversationKeyVersion);
    expect(chatter.reads().at(-1)).toMatchObject({ text: 'after rotation', conversationKeyVersion: two.conversationKeyVersion });

    // A restart: a new connection and identity from the file; the cached keys decrypt without a key change.
    const db2 = await openDatabase(dbPath);
    closers.push(() => db2.close());
    omni = await omniSide(db2, loadSecretBox(dbPath, testSecretEnv(dbPath)), gw, id);
    expect((await loadConversationRing(db2.kysely, box, id, chatter.conversationId)).versions()).toEqual([one.conversationKeyVersion, two.conversationKeyVersion]);
    expect(message(await receiveChatEvent(omni, chatter.says('three', { withKeyChange: false }))).text).toBe('three');
    expect(tw.x.chatPublicKeys(ACCOUNT_ID)).toHaveLength(1); // no re-registration
  });

  it("after omni rotates its keys, opens a customer's key change still encrypted to the retired key", async () => {
    const { tw, db, box, gw, id, runSetup } = await setup();
    await runSetup();
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    message(await receiveChatEvent(await omniSide(db, box, gw, id), chatter.says('before')));
    await runSetup({ rotate: true });
    // The customer's app has not fetched the new key yet: its next key change is for the old one.
    chatter.rotatesKey();
    const omni = await omniSide(db, box, gw, id);
    const delivery = chatter.says('after both rotations');
    const without = await receiveChatEvent(omni, delivery);
    expect(without).toMatchObject({ status: 'rejected', reason: 'unknown_key_version' });
    // The SDK words a key change with no entry for this key as an unverifiable signature.
    expect(without.status === 'rejected' && without.keyChangeRejections).toHaveLength(1);
    const retired = await loadRetiredXChatIdentities(db.kysely, box, id);
    closers.push(() => retired.forEach((r) => r.dispose()));
    expect(retired).toHaveLength(1);
    const out = await receiveChatEvent({ ...omni, retired }, delivery);
    expect(message(out).text).toBe('after both rotations');
    expect(out.status === 'message' && out.keyChangeRejections).toEqual([]);
  });

  it("learns a key from the conversation's history when the payload carries none, and refuses what it cannot unlock", async () => {
    const { tw, db, box, gw, id, runSetup } = await setup();
    await runSetup();
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    const omni = await omniSide(db, box, gw, id);
    const first = chatter.says('no key attached', { withKeyChange: false });
    expect(first.data.payload.conversation_key_change_event).toBeUndefined();
    expect(message(await receiveChatEvent(omni, first)).text).toBe('no key attached');
    expect(tw.requestsTo('GET', /\/2\/chat\/conversations\/[0-9]+-[0-9]+\/events/)).toHaveLength(1);

    // Without the history door, an unknown key version is a refusal with its reason, never a crash.
    chatter.rotatesKey();
    const refused = await receiveChatEvent({ identity: omni.identity, directory: omni.directory, keys: omni.keys }, chatter.says('rotated, no key attached', { withKeyChange: false }));
    expect(refused).toMatchObject({ status: 'rejected', reason: 'unknown_key_version' });
  });

  it('starts a conversation: creates, posts and caches a conversation key, then the customer reads the message', async () => {
    const { tw, db, box, gw, id, runSetup } = await setup();
    await runSetup();
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    const omni = await omniSide(db, box, gw, id);
    const sent = await sendChatMessage(omni, { peerId: CUSTOMER, text: 'Your ticket #7 was closed' });
    expect(sent.createdKeyVersion).toEqual(expect.any(String));
    expect(tw.requestsTo('POST', /\/keys$/)).toHaveLength(1);
    expect(chatter.reads().map((x) => x.text)).toEqual(['Your ticket #7 was closed']);
    expect((await loadConversationRing(db.kysely, box, id, chatter.conversationId)).versions()).toEqual([sent.createdKeyVersion]);
    // The customer answers under that key; omni reads it.
    expect(message(await receiveChatEvent(omni, chatter.says('thanks!'))).text).toBe('thanks!');
  });

  it('reads its own chat.sent echo as direction sent and refuses a chat.sent signed by someone else', async () => {
    const { tw, db, box, gw, id, runSetup } = await setup();
    await runSetup();
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    const omni = await omniSide(db, box, gw, id);
    const d = chatter.says('hi');
    message(await receiveChatEvent(omni, d));
    const sent = await sendChatMessage(omni, { peerId: CUSTOMER, text: 'hello from support' });
    const echo = { data: { event_type: 'chat.sent', event_uuid: 'e1', filter: { user_id: ACCOUNT_ID }, payload: { ...d.data.payload, encoded_event: sent.encodedMessageEvent, sender_id: ACCOUNT_ID } } };
    expect(message(await receiveChatEvent(omni, echo))).toMatchObject({ direction: 'sent', senderId: ACCOUNT_ID, text: 'hello from support', messageId: sent.messageId });
    const forged = { data: { ...d.data, event_type: 'chat.sent' } };
    expect(await receiveChatEvent(omni, forged)).toMatchObject({ status: 'rejected', reason: 'wrong_direction' });
  });

  it('a session (what the listener and outbox hold) receives, answers and survives a reopen; none without X Chat set up', async () => {
    const { tw, db, box, gw, id, runSetup } = await setup();
    expect(await openXChatSession({ db: db.kysely, box, interactionId: id, api: gw })).toBeUndefined();
    await runSetup();
    const session = (await openXChatSession({ db: db.kysely, box, interactionId: id, api: gw }))!;
    closers.push(() => session.dispose());
    expect(session.identity).toMatchObject({ userId: ACCOUNT_ID, fingerprint: (await xchatState(db.kysely, id)).active!.fingerprint });
    expect(JSON.stringify(session.identity)).not.toMatch(/key_blob|keyBlob/);
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    const m = message(await session.receive(chatter.says('session hello')));
    await session.send({ peerId: CUSTOMER, text: 'session reply', replyToEvent: m.encodedEvent });
    expect(chatter.reads().map((r) => r.text)).toEqual(['session reply']);
    session.dispose();
    const reopened = (await openXChatSession({ db: db.kysely, box, interactionId: id, api: gw }))!;
    closers.push(() => reopened.dispose());
    expect(message(await reopened.receive(chatter.says('again', { withKeyChange: false }))).text).toBe('again');
  });

  it('leaves no private key byte in the database (SQLite: the file or its WAL; PostgreSQL: any row)', async () => {
    const { tw, db, box, gw, id, dbPath, runSetup } = await setup();
    await runSetup();
    await runSetup({ rotate: true });
    const chatter = await tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    const omni = await omniSide(db, box, gw, id);
    message(await receiveChatEvent(omni, chatter.says('secret stuff')));
    chatter.rotatesKey();
    message(await receiveChatEvent(omni, chatter.says('more')));
    const blob = omni.identity.exportKeyBlob();
    const ring = await loadConversationRing(db.kysely, box, id, chatter.conversationId);
    const secrets = [Buffer.from(blob), ...ring.exportEntries().map((e) => Buffer.from(e.key))];
    expect(secrets).toHaveLength(3);
    const files = await storedBytes(dbPath);
    expect(files.length).toBeGreaterThan(0);
    for (const s of secrets) {
      for (const f of files) {
        for (const needle of [s, Buffer.from(s.toString('base64')), Buffer.from(s.toString('hex')), s.subarray(0, 16)]) expect(f.includes(needle)).toBe(false);
      }
    }
  });
});
