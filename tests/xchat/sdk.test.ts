// The X Chat adapter with the real SDK (WASM): no crypto is mocked. The customer side is the fake X's
// customer app (tests/support/xchat-customer.ts), which builds events as X's server does.
import { inspect } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ConversationKeyRing,
  XChatIdentity,
  canonicalConversationId,
  signedConversationId,
  urlConversationId,
  type DecryptOutcome,
  type PublicKeyRegistration,
} from '../../src/xchat/sdk.js';
import { XChatCustomer, registeredKey, signingKeyOf } from '../support/xchat-customer.js';

const SUPPORT = '1500';
const CUSTOMER = '42';

let support: XChatIdentity;
let supportReg: PublicKeyRegistration;
const disposables: { dispose(): void }[] = [];

beforeAll(async () => {
  ({ identity: support, registration: supportReg } = await XChatIdentity.generate(SUPPORT));
});

afterEach(() => {
  while (disposables.length) disposables.pop()!.dispose();
});

async function customer(userId = CUSTOMER, supportId = SUPPORT, reg = supportReg): Promise<XChatCustomer> {
  const c = await XChatCustomer.create({ userId, supportUserId: supportId, support: registeredKey(reg) });
  disposables.push(c);
  return c;
}

/** The signing keys the support account would fetch: its own and the customer's, binding-checked. */
function keysFor(c: XChatCustomer) {
  const own = support.trustSigningKeys(SUPPORT, [registeredKey(supportReg)]);
  const theirs = support.trustSigningKeys(c.userId, [c.registered]);
  expect(own.refused).toEqual([]);
  expect(theirs.refused).toEqual([]);
  return [...own.trusted, ...theirs.trusted];
}

function text(o: DecryptOutcome): string {
  if (o.status !== 'message') throw new Error(`expected a message, got ${JSON.stringify(o)}`);
  return o.message.text;
}

describe('identity', () => {
  it('creates keypairs with the registration body in snake_case and public material only', () => {
    expect(supportReg.version).toMatch(/^[0-9]+$/);
    expect(supportReg.generate_version).toBe(true);
    expect(Object.keys(supportReg.public_key).sort()).toEqual([
      'identity_public_key_signature',
      'public_key',
      'public_key_fingerprint',
      'registration_method',
      'signing_public_key',
      'signing_public_key_signature',
    ]);
    // The keys the identity reports are the registered ones, in the SPKI form X's API carries.
    expect(support.publicKeys()).toEqual({
      publicKey: supportReg.public_key.public_key,
      signingPublicKey: supportReg.public_key.signing_public_key,
    });
    expect(support.fingerprint()).toBe(supportReg.public_key.public_key_fingerprint);
    expect(support.describe()).toEqual({
      userId: SUPPORT,
      publicKeyVersion: supportReg.version,
      fingerprint: supportReg.public_key.public_key_fingerprint,
    });
    expect(support.matchesRegisteredKey(supportReg.public_key.public_key)).toBe(true);
  });

  it('adopts the version X assigns and signs with it', async () => {
    const { identity, registration } = await XChatIdentity.generate('77');
    disposables.push(identity);
    identity.adoptPublicKeyVersion('9000000000001');
    expect(identity.describe().publicKeyVersion).toBe('9000000000001');
    const c = await customer('78', '77', registration);
    const ring = new ConversationKeyRing(c.conversationId);
    identity.prepareConversationKey({ userId: '78', publicKey: c.registered.public_key, publicKeyVersion: c.registered.public_key_version }, ring);
    const out = identity.encryptMessage(ring, 'signed under the assigned version');
    expect(Buffer.from(out.body.encoded_message_event_signature, 'base64').toString('latin1')).toContain('9000000000001');
  });

  it('refuses a key blob of the wrong size and an empty version, saying what to give', async () => {
    await expect(XChatIdentity.fromKeyBlob(SUPPORT, new Uint8Array(32), '1')).rejects.toThrow(/32 bytes, it must be 64/);
    await expect(XChatIdentity.fromKeyBlob(SUPPORT, support.exportKeyBlob(), '')).rejects.toThrow(/public key version/);
    await expect(XChatIdentity.generate('not-a-user')).rejects.toThrow(/not an X user id/);
  });

  it('restores the identity from its exported blob in the same process', async () => {
    const blob = support.exportKeyBlob();
    expect(blob).toHaveLength(64);
    const again = await XChatIdentity.fromKeyBlob(SUPPORT, blob, supportReg.version);
    disposables.push(again);
    expect(again.fingerprint()).toBe(support.fingerprint());
    expect(again.publicKeys()).toEqual(support.publicKeys());
    expect(again.matchesRegisteredKey(supportReg.public_key.public_key)).toBe(true);
    // The caller's copy is left alone (the SDK wipes what it is given: the adapter hands it a copy).
    expect(blob.some((b) => b !== 0)).toBe(true);
  });

  it('refuses a signing key the identity key did not sign (a swapped key), keeping the good one', async () => {
    const c = await customer();
    const { identity: other, registration: otherReg } = await XChatIdentity.generate('43');
    disposables.push(other);
    const swapped = { ...c.registered, public_key_version: '2', signing_public_key: otherReg.public_key.signing_public_key };
    const { trusted, refused } = support.trustSigningKeys(c.userId, [c.registered, swapped]);
    expect(trusted.map((k) => k.publicKeyVersion)).toEqual([c.registered.public_key_version]);
    expect(refused).toEqual([{ publicKeyVersion: '2', detail: 'the identity key did not sign this signing key' }]);
  });

  it('is unusable once disposed', async () => {
    const { identity } = await XChatIdentity.generate('5');
    identity.dispose();
    expect(() => identity.fingerprint()).toThrow(/disposed/);
    expect(inspect(identity)).toBe('XChatIdentity(5, disposed)');
  });
});

describe('conversation ids', () => {
  it('orders the two user ids numerically, as the SDK signs them, and hyphenates for URLs', async () => {
    expect(canonicalConversationId('10', '9')).toBe('9:10');
    expect(canonicalConversationId('9', '10')).toBe('9:10');
    expect(urlConversationId('9:10')).toBe('9-10');
    expect(signedConversationId('9-10')).toBe('9:10');
    expect(signedConversationId('g123')).toBe('g123');
    // The SDK agrees: prepareConversationKey refuses a conversation id other than canonicalConversationId's.
    const { identity, registration } = await XChatIdentity.generate('10');
    disposables.push(identity);
    const c = await customer('9', '10', registration);
    expect(c.conversationId).toBe('9:10');
    c.shareKey();
    expect(c.ring.versions()).toHaveLength(1);
  });
});

describe('customer → support', () => {
  it('decrypts a chat.received payload, learning the key from its key change event', async () => {
    const c = await customer();
    const delivery = c.encryptedDm('My order #123 never arrived ✉️');
    expect(delivery.data.event_type).toBe('chat.received');
    expect(delivery.data.filter.user_id).toBe(SUPPORT);
    const p = delivery.data.payload;
    expect(p.conversation_id).toBe(`${CUSTOMER}:${SUPPORT}`);
    expect(typeof p.conversation_key_change_event).toBe('string');
    expect(p.message_event_signature.signing_public_key).toBe(c.registered.signing_public_key);

    const ring = new ConversationKeyRing(p.conversation_id);
    const r = support.decryptPayload(ring, p, keysFor(c));
    expect(r.keyChangeRejections).toEqual([]);
    expect(r.learnedKeyVersions).toEqual([p.conversation_key_version]);
    expect(r.outcome).toEqual({
      status: 'message',
      message: {
        messageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        sequenceId: p.id,
        senderId: CUSTOMER,
        conversationId: `${CUSTOMER}:${SUPPORT}`,
        createdAtMsec: p.created_at_msec,
        conversationKeyVersion: p.conversation_key_version,
        text: 'My order #123 never arrived ✉️',
        attachments: [],
      },
    });
    // The next delivery carries the same key change again: no second check, same key.
    const again = support.decryptPayload(ring, c.encryptedDm('still waiting').data.payload, keysFor(c));
    expect(again.learnedKeyVersions).toEqual([]);
    expect(text(again.outcome)).toBe('still waiting');
  });

  it('accepts the hyphenated conversation id of URLs in the envelope', async () => {
    const c = await customer();
    const p = c.encryptedDm('hyphen').data.payload;
    p.conversation_id = c.urlConversationId;
    const r = support.decryptPayload(new ConversationKeyRing(c.urlConversationId), p, keysFor(c));
    expect(text(r.outcome)).toBe('hyphen');
  });
});

describe('support → customer', () => {
  it('replies so that the customer can read it, and reads its own chat.sent echo', async () => {
    const c = await customer();
    const inbound = c.encryptedDm('hello?').data.payload;
    const ring = new ConversationKeyRing(inbound.conversation_id);
    expect(text(support.decryptPayload(ring, inbound, keysFor(c)).outcome)).toBe('hello?');

    const reply = support.encryptMessage(ring, 'Hi! Looking into it.', { replyToEvent: inbound.encoded_event });
    expect(reply.conversationId).toBe(`${CUSTOMER}:${SUPPORT}`);
    expect(reply.urlConversationId).toBe(`${CUSTOMER}-${SUPPORT}`);
    expect(reply.conversationKeyVersion).toBe(inbound.conversation_key_version);
    expect(Object.keys(reply.body).sort()).toEqual(['encoded_message_create_event', 'encoded_message_event_signature', 'message_id']);

    const { encodedEvent, delivery } = c.eventFromSupport(reply.body, supportReg.public_key.signing_public_key);
    expect(text(c.decrypt(encodedEvent))).toBe('Hi! Looking into it.');
    expect(delivery.data.event_type).toBe('chat.sent');
    const echo = support.decryptPayload(ring, delivery.data.payload, keysFor(c));
    expect(echo.outcome).toMatchObject({ status: 'message', message: { senderId: SUPPORT, messageId: reply.body.message_id, text: 'Hi! Looking into it.' } });
  });

  it('starts a conversation with a key it creates, which the customer verifies and uses', async () => {
    const c = await customer();
    const prepared = support.prepareConversationKey({
      userId: CUSTOMER,
      publicKey: c.registered.public_key,
      publicKeyVersion: c.registered.public_key_version,
    });
    expect(prepared.conversationId).toBe(`${CUSTOMER}:${SUPPORT}`);
    expect(prepared.urlConversationId).toBe(`${CUSTOMER}-${SUPPORT}`);
    expect(prepared.request.conversation_key_version).toBe(prepared.conversationKeyVersion);
    expect(prepared.request.conversation_participant_keys.map((k) => k.user_id).sort()).toEqual([SUPPORT, CUSTOMER].sort());
    expect(prepared.request.action_signatures[0]!.message_event_signature.signing_public_key).toBe(supportReg.public_key.signing_public_key);
    expect(prepared.ring.versions()).toEqual([prepared.conversationKeyVersion]);

    const accepted = c.keyChangeFromSupport(prepared.request);
    expect(accepted.rejected).toEqual([]);
    expect(accepted.learned).toEqual([prepared.conversationKeyVersion]);

    const first = support.encryptMessage(prepared.ring, 'Your ticket #7 was answered');
    expect(text(c.decrypt(c.eventFromSupport(first.body, supportReg.public_key.signing_public_key).encodedEvent))).toBe(
      'Your ticket #7 was answered',
    );
    // The customer answers under the key omni created.
    const answer = c.encryptedDm('thanks');
    expect(answer.data.payload.conversation_key_version).toBe(prepared.conversationKeyVersion);
    expect(text(support.decryptPayload(prepared.ring, answer.data.payload, keysFor(c)).outcome)).toBe('thanks');
  });

  it('refuses to encrypt without a conversation key, naming the fix', () => {
    expect(() => support.encryptMessage(new ConversationKeyRing(`${CUSTOMER}:${SUPPORT}`), 'x')).toThrow(
      /no conversation key for 42:1500/,
    );
  });
});

describe('fail closed', () => {
  it('refuses a tampered signature with its reason and never returns the words', async () => {
    const c = await customer();
    const ring = new ConversationKeyRing(c.conversationId);
    expect(text(support.decryptPayload(ring, c.encryptedDm('genuine').data.payload, keysFor(c)).outcome)).toBe('genuine');
    const p = c.tampered('forged words').data.payload;
    const r = support.decryptPayload(ring, p, keysFor(c));
    expect(r.outcome).toMatchObject({ status: 'rejected', reason: 'bad_signature', senderId: CUSTOMER, sequenceId: p.id });
    expect(JSON.stringify(r)).not.toContain('forged words');
    expect((r.outcome as { detail: string }).detail).toMatch(/signature verification failed/i);
  });

  it('refuses a message from a sender whose signing key it does not hold', async () => {
    const c = await customer();
    const p = c.encryptedDm('who am I').data.payload;
    const onlySupport = support.trustSigningKeys(SUPPORT, [registeredKey(supportReg)]).trusted;
    // Without the customer's signing key neither the key change nor the message can be verified.
    const r = support.decryptPayload(new ConversationKeyRing(c.conversationId), p, onlySupport);
    expect(r.keyChangeRejections).toMatchObject([{ reason: 'unknown_signing_key' }]);
    expect(r.learnedKeyVersions).toEqual([]);
    expect(r.outcome).toMatchObject({ status: 'rejected', reason: 'unknown_key_version' });
    // With the key change's key known but the signing key still missing: refused for the signature.
    const ring = new ConversationKeyRing(c.conversationId);
    support.applyKeyChanges(ring, c.keyChangeEvents, keysFor(c));
    expect(support.decryptEvent(ring, p.encoded_event, onlySupport)).toMatchObject({ status: 'rejected', reason: 'unknown_signing_key' });
  });

  it('refuses a message that claims another sender than the one who signed it', async () => {
    const c = await customer();
    const ring = new ConversationKeyRing(c.conversationId);
    support.applyKeyChanges(ring, [c.shareKey()], keysFor(c));
    const p = c.encryptedDm('mine').data.payload;
    // The envelope says the support account sent it; the signed event says the customer did.
    const r = support.decryptPayload(ring, { ...p, sender_id: SUPPORT }, keysFor(c));
    expect(r.outcome).toMatchObject({ status: 'rejected', reason: 'envelope_mismatch' });
    expect((r.outcome as { detail: string }).detail).toContain(`sender_id ${SUPPORT} ≠ ${CUSTOMER}`);
  });

  it('keeps no key from a key change whose signature does not verify', async () => {
    const c = await customer();
    const good = c.shareKey();
    // Flip one character of the signature inside the signed event (the SDK's batch call would still
    // hand back the key; the adapter keeps only verified key changes).
    const bytes = Buffer.from(good, 'base64');
    const sig = Buffer.from(c.keyChangeEvents[0]!, 'base64').toString('latin1');
    const at = sig.lastIndexOf('\u000b\u0000\u0001') + 7 + 10;
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    const ring = new ConversationKeyRing(c.conversationId);
    const r = support.applyKeyChanges(ring, [bytes.toString('base64')], keysFor(c));
    expect(r.learned).toEqual([]);
    expect(r.rejected).toMatchObject([{ status: 'rejected', reason: 'bad_signature', senderId: CUSTOMER }]);
    expect(ring.versions()).toEqual([]);
    expect(support.applyKeyChanges(ring, [good], keysFor(c)).learned).toHaveLength(1);
  });

  it('refuses what is not a MessageEvent of this conversation as malformed or mismatched', async () => {
    const c = await customer();
    const ring = new ConversationKeyRing(c.conversationId);
    const keys = keysFor(c);
    expect(support.decryptEvent(ring, 'not base64!', keys)).toMatchObject({ reason: 'malformed', detail: 'encoded_event is not base64' });
    expect(support.decryptEvent(ring, Buffer.from('garbage bytes').toString('base64'), keys)).toMatchObject({ reason: 'malformed' });
    expect(support.decryptPayload(ring, null, keys).outcome).toMatchObject({ reason: 'malformed' });
    expect(support.decryptPayload(ring, { encoded_event: 5 }, keys).outcome).toMatchObject({ reason: 'malformed' });
    const other = await customer('44');
    const elsewhere = other.encryptedDm('not yours').data.payload;
    expect(support.decryptEvent(ring, elsewhere.encoded_event, keys)).toMatchObject({
      status: 'rejected',
      reason: 'conversation_mismatch',
      conversationId: `44:${SUPPORT}`,
    });
  });
});

describe('key rotation', () => {
  it('decrypts new messages under the new key while older ones still decrypt with the kept key', async () => {
    const c = await customer();
    const ring = new ConversationKeyRing(c.conversationId);
    const before = c.encryptedDm('before the rotation').data.payload;
    expect(text(support.decryptPayload(ring, before, keysFor(c)).outcome)).toBe('before the rotation');
    const v1 = before.conversation_key_version;

    c.rotateKey();
    // A delivery without its key change: the new version is unknown, refused with that reason.
    const blind = c.encryptedDm('after, without the key change', { withKeyChange: false }).data.payload;
    expect(blind.conversation_key_version).not.toBe(v1);
    expect(support.decryptPayload(ring, blind, keysFor(c)).outcome).toMatchObject({
      status: 'rejected',
      reason: 'unknown_key_version',
      detail: `conversation key ${blind.conversation_key_version} is unknown (known: ${v1})`,
    });

    const after = c.encryptedDm('after the rotation').data.payload;
    const r = support.decryptPayload(ring, after, keysFor(c));
    expect(r.learnedKeyVersions).toEqual([after.conversation_key_version]);
    expect(text(r.outcome)).toBe('after the rotation');
    expect(ring.versions()).toEqual([v1, after.conversation_key_version]);
    expect(ring.latestVersion()).toBe(after.conversation_key_version);

    // Old and refused-then-unlocked messages decrypt from the ring.
    expect(text(support.decryptEvent(ring, before.encoded_event, keysFor(c)))).toBe('before the rotation');
    expect(text(support.decryptEvent(ring, blind.encoded_event, keysFor(c)))).toBe('after, without the key change');

    // Replies go out under the newest key, which the customer reads.
    const reply = support.encryptMessage(ring, 'rotated reply');
    expect(reply.conversationKeyVersion).toBe(after.conversation_key_version);
    expect(text(c.decrypt(c.eventFromSupport(reply.body, supportReg.public_key.signing_public_key).encodedEvent))).toBe('rotated reply');
  });

  it('restores a ring from stored entries', async () => {
    const c = await customer();
    const ring = new ConversationKeyRing(c.conversationId);
    const p = c.encryptedDm('stored').data.payload;
    support.decryptPayload(ring, p, keysFor(c));
    const restored = new ConversationKeyRing(c.urlConversationId, ring.exportEntries());
    expect(restored.conversationId).toBe(c.conversationId);
    expect(text(support.decryptEvent(restored, p.encoded_event, keysFor(c)))).toBe('stored');
    expect(() => new ConversationKeyRing(c.conversationId, [{ version: '1', key: new Uint8Array(16) }])).toThrow(/16 bytes/);
  });
});

describe('secrets stay out of what is shown', () => {
  it('shows fingerprints and versions, never private or conversation key bytes', async () => {
    const c = await customer();
    const blob = Buffer.from(support.exportKeyBlob());
    const ring = new ConversationKeyRing(c.conversationId);
    const p = c.encryptedDm('secret-free').data.payload;
    const decrypted = support.decryptPayload(ring, p, keysFor(c));
    const prepared = support.prepareConversationKey(
      { userId: CUSTOMER, publicKey: c.registered.public_key, publicKeyVersion: c.registered.public_key_version },
      ring,
    );
    const sent = support.encryptMessage(ring, 'x');
    const conversationKeys = ring.exportEntries().map((e) => Buffer.from(e.key));
    expect(conversationKeys).toHaveLength(2);

    const shown = [
      JSON.stringify(support),
      inspect(support, { depth: 10, showHidden: true }),
      JSON.stringify(support.describe()),
      JSON.stringify(supportReg),
      JSON.stringify(ring),
      inspect(ring, { depth: 10, showHidden: true }),
      JSON.stringify(decrypted),
      JSON.stringify(prepared),
      inspect(prepared, { depth: 10, showHidden: true }),
      JSON.stringify(sent),
    ].join('\n');
    expect(JSON.stringify(support)).toBe(JSON.stringify(support.describe()));
    expect(shown).toContain(support.fingerprint());
    const secrets = [blob, blob.subarray(0, 32), blob.subarray(32), ...conversationKeys];
    for (const s of secrets) {
      for (const form of [s.toString('base64'), s.toString('base64').replace(/=+$/, ''), s.toString('base64url'), s.toString('hex')]) {
        expect(shown).not.toContain(form);
      }
      expect(shown).not.toContain(JSON.stringify([...s]).slice(1, -1));
    }
  });
});

describe('signing keys from X', () => {
  it('maps a registered key into the SDK entry', () => {
    const k = registeredKey(supportReg);
    expect(signingKeyOf(SUPPORT, k)).toEqual(support.signingKey(supportReg.public_key.identity_public_key_signature));
  });
});
