// The one door to X's Chat XDK (`@xdevplatform/chat-xdk`, WASM). The package's public export keeps
// private keys in Juicebox behind a PIN; omni runs as a bot on its own infrastructure and keeps its
// key blob itself, so it drives the lower-level WASM `Chat` class in `pkg/chat_xdk_wasm.js`. That file
// is not in the package's `exports` map: the version is pinned exactly in package.json, it is loaded
// only here, and `loadChatXdkFrom` refuses a package whose layout or methods differ, naming the fix.
//
// Everything this module returns for display carries public material only (user id, key version,
// fingerprint); the 64-byte private key blob leaves only through `exportKeyBlob()`, and conversation
// keys stay inside `ConversationKeyRing` unless `exportEntries()` is asked for them.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { OmniError } from '../errors.js';
import { decodeMessageEvent, fromBase64, ThriftDecodeError, type MessageEventFields } from './thrift.js';

export const CHAT_XDK_PACKAGE = '@xdevplatform/chat-xdk';
export const CHAT_XDK_VERSION = '0.4.3';
const FIX = `run npm ci in omni's directory to restore ${CHAT_XDK_PACKAGE}@${CHAT_XDK_VERSION}; another version must be checked against src/xchat/sdk.ts before omni pins it`;

/** The `Chat` methods omni calls; a package without any of them is refused at load. */
export const REQUIRED_CHAT_METHODS = [
  'generateKeypairs',
  'exportKeys',
  'importKeys',
  'isUnlocked',
  'setIdentity',
  'setRejectUnverified',
  'getPublicKeys',
  'getPublicKeyFingerprint',
  'matchesRegisteredKey',
  'verifyKeyBinding',
  'decryptEvents',
  'decryptEvent',
  'encryptMessage',
  'encryptReply',
  'prepareConversationKeyChange',
  'lock',
  'free',
] as const;

/** The subset of the WASM `Chat` class omni uses; the SDK types its results as `any`, checked below. */
interface WasmChat {
  generateKeypairs(): unknown;
  exportKeys(): Uint8Array;
  importKeys(keys: Uint8Array, version?: string | null): void;
  isUnlocked(): boolean;
  setIdentity(userId: string, signingKeyVersion: string): void;
  setRejectUnverified(reject: boolean): void;
  getPublicKeys(): unknown;
  getPublicKeyFingerprint(): string;
  matchesRegisteredKey(publicKeyB64: string): boolean;
  verifyKeyBinding(identityPublicKey: string, signingPublicKey: string, signature: string): boolean;
  decryptEvents(events: string[], signingKeys: unknown): unknown;
  decryptEvent(event: string, conversationKeys: unknown, signingKeys: unknown): unknown;
  encryptMessage(params: unknown): unknown;
  encryptReply(params: unknown): unknown;
  prepareConversationKeyChange(params: unknown): unknown;
  lock(): void;
  free(): void;
}

interface WasmModule {
  default(init: { module_or_path: Uint8Array }): Promise<unknown>;
  Chat: new () => WasmChat;
}

export interface ChatXdk {
  readonly dir: string;
  readonly version: string;
  newChat(): WasmChat;
}

function sdkError(message: string, cause?: unknown): OmniError {
  return new OmniError(`X Chat SDK: ${message}`, { hint: FIX, ...(cause === undefined ? {} : { cause }) });
}

/** The installed package's directory (its `exports` map hides package.json, so resolve the entry). */
export function chatXdkDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(CHAT_XDK_PACKAGE));
  } catch (err) {
    throw sdkError(`${CHAT_XDK_PACKAGE} is not installed`, err);
  }
}

/** Loads and initialises the WASM `Chat` class from a package directory, checking its layout first. */
export async function loadChatXdkFrom(dir: string): Promise<ChatXdk> {
  const manifest = join(dir, 'package.json');
  let version: unknown;
  try {
    version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: unknown }).version;
  } catch (err) {
    throw sdkError(`cannot read ${manifest}`, err);
  }
  if (version !== CHAT_XDK_VERSION) {
    throw sdkError(`${CHAT_XDK_PACKAGE} ${String(version)} is installed in ${dir}, omni is built for exactly ${CHAT_XDK_VERSION}`);
  }
  const js = join(dir, 'pkg', 'chat_xdk_wasm.js');
  const wasm = join(dir, 'pkg', 'chat_xdk_wasm_bg.wasm');
  for (const file of [js, wasm]) {
    if (!existsSync(file)) throw sdkError(`${file} is missing: the package layout changed`);
  }
  let mod: WasmModule;
  try {
    mod = (await import(pathToFileURL(js).href)) as WasmModule;
  } catch (err) {
    throw sdkError(`cannot load ${js}: ${(err as Error).message}`, err);
  }
  if (typeof mod.default !== 'function' || typeof mod.Chat !== 'function') {
    throw sdkError(`${js} no longer exports the init function and the Chat class`);
  }
  const missing = REQUIRED_CHAT_METHODS.filter(
    (m) => typeof (mod.Chat.prototype as unknown as Record<string, unknown>)[m] !== 'function',
  );
  if (missing.length > 0) throw sdkError(`the Chat class in ${js} lacks ${missing.join(', ')}`);
  try {
    await mod.default({ module_or_path: readFileSync(wasm) });
  } catch (err) {
    throw sdkError(`cannot initialise ${wasm}: ${(err as Error).message}`, err);
  }
  return { dir, version, newChat: () => new mod.Chat() };
}

let loaded: Promise<ChatXdk> | undefined;

/** The SDK, loaded and initialised once per process. */
export function loadChatXdk(): Promise<ChatXdk> {
  loaded ??= loadChatXdkFrom(chatXdkDir()).catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

// ---------------------------------------------------------------------------------------------------
// Shapes

/** The body of `POST /2/users/{id}/public_keys`, in X's snake_case. Public material only. */
export interface PublicKeyRegistration {
  public_key: {
    public_key: string;
    signing_public_key: string;
    identity_public_key_signature: string;
    public_key_fingerprint: string;
    registration_method: string;
    signing_public_key_signature: string;
  };
  version: string;
  generate_version: boolean;
}

/** One entry of `GET /2/users/{id}/public_keys` as X answers it. */
export interface RegisteredPublicKey {
  public_key_version: string;
  public_key: string;
  signing_public_key: string;
  identity_public_key_signature: string;
}

/** A participant's signing key, as the SDK takes it. */
export interface SigningKey {
  userId: string;
  publicKeyVersion: string;
  /** The signing public key (X's `signing_public_key`). */
  publicKey: string;
  /** The identity public key (X's `public_key`). */
  identityPublicKey: string;
  identityPublicKeySignature: string;
}

/** What may be shown about an identity: never key bytes. */
export interface IdentitySummary {
  userId: string;
  publicKeyVersion: string;
  fingerprint: string;
}

/** Why an event is refused. Nothing refused is ever stored as the sender's words. */
export type RejectReason =
  | 'malformed'
  | 'unsigned'
  | 'unknown_signing_key'
  | 'bad_signature'
  | 'unknown_key_version'
  | 'conversation_mismatch'
  | 'envelope_mismatch'
  | 'undecryptable';

export interface Rejection {
  status: 'rejected';
  reason: RejectReason;
  /** One line: the cause as the SDK or the check saw it. */
  detail: string;
  /** Best-effort ids read from the (unverified) event, for the record of the refusal. */
  eventId?: string | undefined;
  sequenceId?: string | undefined;
  senderId?: string | undefined;
  conversationId?: string | undefined;
}

export interface DecryptedMessage {
  /** The message id the sender's client chose (a UUID), signed. */
  messageId: string;
  /** X's sequence id of the event in the conversation. */
  sequenceId: string | undefined;
  senderId: string;
  /** `lo:hi` as signed inside the event. */
  conversationId: string;
  createdAtMsec: string | undefined;
  conversationKeyVersion: string;
  text: string;
  /** Attachment metadata as signed in the message (the media itself stays encrypted at X). */
  attachments: ChatAttachment[];
}

/** What omni keeps of an attachment: metadata only, never the media bytes. */
export interface ChatAttachment {
  /** 'media', 'url', 'post', 'unifiedCard' or 'money'. */
  type: string;
  /** The key of the encrypted media in X's store (media attachments). */
  mediaHashKey?: string;
  filename?: string;
  filesizeBytes?: number;
  mediaType?: string;
  url?: string;
}

/** An attachment to send, in the SDK's wire shape (snake_case, as X's Thrift carries it). */
export type OutgoingAttachment =
  | { attachment_type: 'media'; media_hash_key: string; width: number; height: number; filesize_bytes: number; filename: string; media_type?: number }
  | { attachment_type: 'url'; url: string; display_title?: string }
  | { attachment_type: 'post'; rest_id?: string; post_url?: string };

function attachmentsOf(raw: unknown): ChatAttachment[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((a: unknown) => {
    if (typeof a !== 'object' || a === null) return [];
    const o = a as Record<string, unknown>;
    // 0.4.3 names the kind `attachment_type` although its typings say `attachmentType`: read both.
    const kind = o.attachmentType ?? o.attachment_type;
    const type = typeof kind === 'string' && kind !== '' ? kind : 'unknown';
    const out: ChatAttachment = { type };
    if (typeof o.mediaHashKey === 'string' && o.mediaHashKey !== '') out.mediaHashKey = o.mediaHashKey;
    if (typeof o.filename === 'string' && o.filename !== '') out.filename = o.filename;
    if (typeof o.filesizeBytes === 'number') out.filesizeBytes = o.filesizeBytes;
    if (typeof o.mediaType === 'string' || typeof o.mediaType === 'number') out.mediaType = String(o.mediaType);
    if (typeof o.url === 'string' && o.url !== '') out.url = o.url;
    return [out];
  });
}

export type DecryptOutcome =
  | { status: 'message'; message: DecryptedMessage }
  | { status: 'keyChange'; conversationKeyVersion: string; eventId: string | undefined; senderId: string | undefined }
  /** A verified or content-free event that is not a message (typing, reaction, delete…): not words. */
  | { status: 'event'; kind: string; eventId: string | undefined; senderId: string | undefined }
  | Rejection;

export interface PayloadOutcome {
  outcome: DecryptOutcome;
  /** Key versions learned from the payload's `conversation_key_change_event` (already in the ring). */
  learnedKeyVersions: string[];
  /** Key changes in the payload that were refused (their keys were not kept). */
  keyChangeRejections: Rejection[];
}

/** The body of `POST /2/chat/conversations/{id}/messages`. */
export interface OutgoingChatMessage {
  /** `lo:hi`, as signed. */
  conversationId: string;
  /** `lo-hi`, for the URL path. */
  urlConversationId: string;
  conversationKeyVersion: string;
  body: {
    message_id: string;
    encoded_message_create_event: string;
    encoded_message_event_signature: string;
  };
}

/** The body of `POST /2/chat/conversations/{id}/keys` for a new conversation key. Public material only. */
export interface ConversationKeyChangeRequest {
  conversation_key_version: string;
  conversation_participant_keys: { user_id: string; encrypted_conversation_key: string; public_key_version: string }[];
  action_signatures: {
    message_id: string;
    encoded_message_event_detail: string;
    message_event_signature: {
      signature: string;
      signature_version: string;
      public_key_version: string;
      signing_public_key: string;
    };
  }[];
}

export interface PreparedKeyChange {
  conversationId: string;
  urlConversationId: string;
  conversationKeyVersion: string;
  request: ConversationKeyChangeRequest;
  /** The ring the new key was added to. */
  ring: ConversationKeyRing;
}

// ---------------------------------------------------------------------------------------------------
// Conversation ids

const USER_ID = /^[0-9]{1,19}$/;

/** The 1:1 conversation id as signed inside events: the two user ids ascending, `lo:hi`. */
export function canonicalConversationId(a: string, b: string): string {
  for (const id of [a, b]) {
    if (!USER_ID.test(id)) throw new OmniError(`"${id}" is not an X user id`, { hint: 'X user ids are 1-19 digits' });
  }
  const [lo, hi] = BigInt(a) <= BigInt(b) ? [a, b] : [b, a];
  return `${lo}:${hi}`;
}

/** `lo:hi` or `lo-hi` → `lo:hi`; group ids (`g…`) unchanged. */
export function signedConversationId(id: string): string {
  return id.replace('-', ':');
}

/** `lo:hi` → `lo-hi`, the form X's URL paths take (a colon is refused there). */
export function urlConversationId(id: string): string {
  return id.replace(':', '-');
}

// ---------------------------------------------------------------------------------------------------
// Conversation keys

function compareVersions(a: string, b: string): number {
  if (/^[0-9]+$/.test(a) && /^[0-9]+$/.test(b)) {
    const [x, y] = [BigInt(a), BigInt(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The verified conversation keys of one conversation, by version. Only key changes whose signature
 * verified add keys here (or the key omni itself created). Shown, it lists versions, never bytes.
 */
export class ConversationKeyRing {
  readonly conversationId: string;
  readonly #keys = new Map<string, Uint8Array>();

  constructor(conversationId: string, entries: Iterable<{ version: string; key: Uint8Array }> = []) {
    this.conversationId = signedConversationId(conversationId);
    for (const e of entries) this.add(e.version, e.key);
  }

  add(version: string, key: Uint8Array): void {
    if (version.length === 0) throw new OmniError('a conversation key needs a version', { hint: 'this is a bug in omni' });
    if (key.length !== 32) {
      throw new OmniError(`conversation key ${version} is ${key.length} bytes, X Chat keys are 32`, {
        hint: 'the stored key is damaged: rebuild it from the conversation key events',
      });
    }
    this.#keys.set(version, new Uint8Array(key));
  }

  has(version: string): boolean {
    return this.#keys.has(version);
  }

  /** Versions, oldest first. */
  versions(): string[] {
    return [...this.#keys.keys()].sort(compareVersions);
  }

  latestVersion(): string | undefined {
    return this.versions().at(-1);
  }

  /** Copies of the keys, for encrypted storage. Secret: never log or print these. */
  exportEntries(): { version: string; key: Uint8Array }[] {
    return this.versions().map((version) => ({ version, key: new Uint8Array(this.#keys.get(version)!) }));
  }

  /** @internal The SDK's `version → bytes` map. */
  sdkKeys(only?: string): Record<string, Uint8Array> {
    const out: Record<string, Uint8Array> = {};
    for (const [v, k] of this.#keys) if (only === undefined || v === only) out[v] = k;
    return out;
  }

  /** @internal */
  key(version: string): Uint8Array | undefined {
    return this.#keys.get(version);
  }

  toJSON(): { conversationId: string; versions: string[] } {
    return { conversationId: this.conversationId, versions: this.versions() };
  }

  [inspect.custom](): string {
    return `ConversationKeyRing(${this.conversationId}: ${this.versions().join(', ') || 'no keys'})`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Checks of what the SDK hands back (it types everything `any`)

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null) throw sdkError(`${what} is not an object: the SDK changed`);
  return v as Record<string, unknown>;
}

function field(o: Record<string, unknown>, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) throw sdkError(`${what} has no ${key}: the SDK changed`);
  return v;
}

const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/** A raw uncompressed P-256 point (base64) → SPKI/DER base64, the form X's API carries. */
function spki(rawB64: string, what: string): string {
  const raw = Buffer.from(rawB64, 'base64');
  if (raw.length === 91 && raw.subarray(0, 26).equals(P256_SPKI_PREFIX)) return rawB64;
  if (raw.length !== 65 || raw[0] !== 0x04) throw sdkError(`${what} is not an uncompressed P-256 point: the SDK changed`);
  return Buffer.concat([P256_SPKI_PREFIX, raw]).toString('base64');
}

function classify(err: unknown): { reason: RejectReason; detail: string } {
  const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
  if (/no matching key found/i.test(detail)) return { reason: 'unknown_key_version', detail };
  if (/signature missing or no matching signing key/i.test(detail)) return { reason: 'unknown_signing_key', detail };
  if (/signature/i.test(detail) && /verif/i.test(detail)) return { reason: 'bad_signature', detail };
  if (/parse error|serialization error|thrift|base64/i.test(detail)) return { reason: 'malformed', detail };
  return { reason: 'undecryptable', detail };
}

function idsOf(fields: MessageEventFields | undefined): Omit<Rejection, 'status' | 'reason' | 'detail'> {
  if (!fields) return {};
  return {
    eventId: fields.messageId,
    sequenceId: fields.sequenceId,
    senderId: fields.senderId,
    conversationId: fields.conversationId,
  };
}

function reject(reason: RejectReason, detail: string, fields?: MessageEventFields): Rejection {
  return { status: 'rejected', reason, detail, ...idsOf(fields) };
}

type Parsed = { ok: true; fields: MessageEventFields } | { ok: false; rejection: Rejection };

function parseEvent(eventB64: unknown, what: string): Parsed {
  if (typeof eventB64 !== 'string') return { ok: false, rejection: reject('malformed', `${what} is not a string`) };
  const bytes = fromBase64(eventB64);
  if (!bytes) return { ok: false, rejection: reject('malformed', `${what} is not base64`) };
  try {
    return { ok: true, fields: decodeMessageEvent(bytes) };
  } catch (err) {
    if (err instanceof ThriftDecodeError) {
      return { ok: false, rejection: reject('malformed', `${what} is not a Thrift MessageEvent: ${err.message}`) };
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// Identity

/**
 * An X Chat identity (identity + signing keypairs) of one account, held in one WASM `Chat`.
 * Create with `XChatIdentity.generate` or `XChatIdentity.fromKeyBlob`; `dispose()` wipes it.
 */
export class XChatIdentity {
  readonly userId: string;
  #version: string;
  readonly #chat: WasmChat;
  #disposed = false;

  private constructor(chat: WasmChat, userId: string, version: string) {
    this.#chat = chat;
    this.userId = userId;
    this.#version = version;
    chat.setRejectUnverified(true);
    chat.setIdentity(userId, version);
  }

  /** Fresh keypairs for `userId`, and the registration body to send to `POST /2/users/{id}/public_keys`. */
  static async generate(userId: string): Promise<{ identity: XChatIdentity; registration: PublicKeyRegistration }> {
    assertUserId(userId);
    const chat = (await loadChatXdk()).newChat();
    const out = record(chat.generateKeypairs(), 'generateKeypairs()');
    const pk = record(out.publicKey, 'generateKeypairs().publicKey');
    const w = 'generateKeypairs().publicKey';
    const registration: PublicKeyRegistration = {
      public_key: {
        public_key: field(pk, 'publicKey', w),
        signing_public_key: field(pk, 'signingPublicKey', w),
        identity_public_key_signature: field(pk, 'identityPublicKeySignature', w),
        public_key_fingerprint: field(pk, 'publicKeyFingerprint', w),
        registration_method: field(pk, 'registrationMethod', w),
        signing_public_key_signature: field(pk, 'signingPublicKeySignature', w),
      },
      version: field(out, 'version', 'generateKeypairs()'),
      generate_version: out.generateVersion === true,
    };
    return { identity: new XChatIdentity(chat, userId, registration.version), registration };
  }

  /**
   * Restores an identity from the 64-byte blob `exportKeyBlob()` gave, registered under `publicKeyVersion`.
   * The SDK accepts any 64 bytes: check `matchesRegisteredKey` against X's registered key before use.
   */
  static async fromKeyBlob(userId: string, blob: Uint8Array, publicKeyVersion: string): Promise<XChatIdentity> {
    assertUserId(userId);
    if (blob.length !== 64) {
      throw new OmniError(`the X Chat key blob is ${blob.length} bytes, it must be 64`, {
        hint: 'import the file omni or the chat-xdk exportKeys() wrote, unchanged',
      });
    }
    if (publicKeyVersion.length === 0) {
      throw new OmniError('the X Chat key blob needs the public key version it was registered under', {
        hint: 'give the public_key_version X answered to the key registration',
      });
    }
    const chat = (await loadChatXdk()).newChat();
    try {
      chat.importKeys(new Uint8Array(blob), publicKeyVersion); // the SDK wipes what it is given: a copy
    } catch (err) {
      chat.free();
      throw new OmniError(`the X Chat key blob was refused: ${(err as Error).message}`, {
        hint: 'import the file omni or the chat-xdk exportKeys() wrote, unchanged',
      });
    }
    if (!chat.isUnlocked()) {
      chat.free();
      throw new OmniError('the X Chat key blob holds no identity and signing keys', {
        hint: 'import the file omni or the chat-xdk exportKeys() wrote, unchanged',
      });
    }
    return new XChatIdentity(chat, userId, publicKeyVersion);
  }

  get publicKeyVersion(): string {
    return this.#version;
  }

  /** X assigns the version when the registration asked it to (`generate_version`): adopt its answer. */
  adoptPublicKeyVersion(version: string): void {
    if (version.length === 0) throw new OmniError('X answered an empty public_key_version', { hint: 'retry the registration' });
    this.#version = version;
    this.#live().setIdentity(this.userId, version);
  }

  /** URL-safe base64 fingerprint of the identity public key, for comparing out of band. */
  fingerprint(): string {
    return this.#live().getPublicKeyFingerprint();
  }

  describe(): IdentitySummary {
    return { userId: this.userId, publicKeyVersion: this.#version, fingerprint: this.fingerprint() };
  }

  /** The public keys in SPKI/DER base64, as X's API carries them. */
  publicKeys(): { publicKey: string; signingPublicKey: string } {
    const k = record(this.#live().getPublicKeys(), 'getPublicKeys()');
    return {
      publicKey: spki(field(k, 'identity', 'getPublicKeys()'), 'the identity public key'),
      signingPublicKey: spki(field(k, 'signing', 'getPublicKeys()'), 'the signing public key'),
    };
  }

  /** This identity as a signing-key entry (what `GET /2/users/{id}/public_keys` would answer for it). */
  signingKey(identityPublicKeySignature: string): SigningKey {
    const k = this.publicKeys();
    return {
      userId: this.userId,
      publicKeyVersion: this.#version,
      publicKey: k.signingPublicKey,
      identityPublicKey: k.publicKey,
      identityPublicKeySignature,
    };
  }

  /** Whether `publicKeyB64` (SPKI or raw, as X returns it) is this identity's public key. */
  matchesRegisteredKey(publicKeyB64: string): boolean {
    try {
      return this.#live().matchesRegisteredKey(publicKeyB64);
    } catch {
      return false;
    }
  }

  /** Secret: the 64 private key bytes. For encrypted storage only; never print or log them. */
  exportKeyBlob(): Uint8Array {
    const exported = this.#live().exportKeys();
    const copy = new Uint8Array(exported);
    exported.fill(0);
    return copy;
  }

  /**
   * Checks each registered key's binding (the identity key signed the signing key) and returns the
   * ones that hold as SDK signing keys; the others are refused, with the version, so X cannot swap a
   * participant's signing key unnoticed.
   */
  trustSigningKeys(
    userId: string,
    registered: readonly RegisteredPublicKey[],
  ): { trusted: SigningKey[]; refused: { publicKeyVersion: string; detail: string }[] } {
    const trusted: SigningKey[] = [];
    const refused: { publicKeyVersion: string; detail: string }[] = [];
    for (const r of registered) {
      const version = String(r.public_key_version ?? '');
      let ok = false;
      try {
        ok = this.#live().verifyKeyBinding(r.public_key, r.signing_public_key, r.identity_public_key_signature);
      } catch (err) {
        refused.push({ publicKeyVersion: version, detail: `unreadable key: ${(err as Error).message}` });
        continue;
      }
      if (!ok) {
        refused.push({ publicKeyVersion: version, detail: 'the identity key did not sign this signing key' });
        continue;
      }
      trusted.push({
        userId,
        publicKeyVersion: version,
        publicKey: r.signing_public_key,
        identityPublicKey: r.public_key,
        identityPublicKeySignature: r.identity_public_key_signature,
      });
    }
    return { trusted, refused };
  }

  /**
   * Creates a conversation key for a 1:1 with `peer`, encrypted to both participants and signed:
   * the body for `POST /2/chat/conversations/{lo-hi}/keys`. The key is added to `ring` (or a new one).
   */
  prepareConversationKey(
    peer: { userId: string; publicKey: string; publicKeyVersion: string },
    ring?: ConversationKeyRing,
  ): PreparedKeyChange {
    assertUserId(peer.userId);
    const own = this.publicKeys();
    const conversationId = canonicalConversationId(this.userId, peer.userId);
    if (ring && ring.conversationId !== conversationId) {
      throw new OmniError(`the key ring is for ${ring.conversationId}, not ${conversationId}`, { hint: 'this is a bug in omni' });
    }
    const out = record(
      this.#live().prepareConversationKeyChange({
        publicKeys: [
          { userId: this.userId, publicKey: own.publicKey, keyVersion: this.#version },
          { userId: peer.userId, publicKey: peer.publicKey, keyVersion: peer.publicKeyVersion },
        ],
      }),
      'prepareConversationKeyChange()',
    );
    const w = 'prepareConversationKeyChange()';
    const signedId = field(out, 'conversationId', w);
    if (signedId !== conversationId) throw sdkError(`${w} named conversation ${signedId}, expected ${conversationId}`);
    const version = field(out, 'conversationKeyVersion', w);
    const key = out.conversationKey;
    if (!(key instanceof Uint8Array)) throw sdkError(`${w} has no conversationKey bytes: the SDK changed`);
    if (!Array.isArray(out.participantKeys) || !Array.isArray(out.actionSignatures)) {
      throw sdkError(`${w} has no participantKeys or actionSignatures: the SDK changed`);
    }
    const request: ConversationKeyChangeRequest = {
      conversation_key_version: version,
      conversation_participant_keys: out.participantKeys.map((p: unknown) => {
        const r = record(p, `${w}.participantKeys[]`);
        return {
          user_id: field(r, 'userId', w),
          encrypted_conversation_key: field(r, 'encryptedKey', w),
          public_key_version: field(r, 'publicKeyVersion', w),
        };
      }),
      action_signatures: out.actionSignatures.map((s: unknown) => {
        const r = record(s, `${w}.actionSignatures[]`);
        return {
          message_id: field(r, 'messageId', w),
          encoded_message_event_detail: field(r, 'encodedMessageEventDetail', w),
          message_event_signature: {
            signature: field(r, 'signature', w),
            signature_version: field(r, 'signatureVersion', w),
            public_key_version: field(r, 'publicKeyVersion', w),
            signing_public_key: own.signingPublicKey,
          },
        };
      }),
    };
    const target = ring ?? new ConversationKeyRing(conversationId);
    target.add(version, key);
    key.fill(0);
    return { conversationId, urlConversationId: urlConversationId(conversationId), conversationKeyVersion: version, request, ring: target };
  }

  /**
   * Verifies key-change events (base64 `MessageEvent`s) and adds the keys of those whose signature
   * verified to `ring`. The others are refused with their reason and add nothing.
   */
  applyKeyChanges(
    ring: ConversationKeyRing,
    events: readonly string[],
    signingKeys: readonly SigningKey[],
  ): { learned: string[]; rejected: Rejection[] } {
    const learned: string[] = [];
    const rejected: Rejection[] = [];
    for (const ev of events) {
      const r = this.#applyKeyChange(ring, ev, signingKeys);
      if (r.status === 'rejected') rejected.push(r);
      else learned.push(r.conversationKeyVersion);
    }
    return { learned, rejected };
  }

  #applyKeyChange(
    ring: ConversationKeyRing,
    eventB64: string,
    signingKeys: readonly SigningKey[],
  ): Rejection | { status: 'keyChange'; conversationKeyVersion: string; eventId: string | undefined; senderId: string | undefined } {
    const parsed = parseEvent(eventB64, 'the key change event');
    if (!parsed.ok) return parsed.rejection;
    const f = parsed.fields;
    if (f.detail !== 'conversationKeyChange') {
      return reject('malformed', `a key change was expected, the event is ${f.detail}`, f);
    }
    if (f.conversationId !== ring.conversationId) {
      return reject('conversation_mismatch', `the key change is for ${f.conversationId ?? 'no conversation'}, not ${ring.conversationId}`, f);
    }
    if (!f.signature?.signature) return reject('unsigned', 'the key change carries no signature', f);
    let result: Record<string, unknown>;
    try {
      result = record(this.#live().decryptEvents([eventB64], signingKeys), 'decryptEvents()');
    } catch (err) {
      const c = classify(err);
      return reject(c.reason, c.detail, f);
    }
    // decryptEvents reports a bad key-change signature in `errors` yet still returns the key in
    // `conversationKeys`: only a key change listed as verified in `messages` counts.
    const errors = Object.values(record(result.errors ?? {}, 'decryptEvents().errors'));
    if (errors.length > 0) {
      const c = classify(errors[0]);
      return reject(c.reason, c.detail, f);
    }
    const messages = Array.isArray(result.messages) ? result.messages : [];
    const event = messages.length === 1 ? record(record(messages[0], 'decryptEvents().messages[]').event, 'decryptEvents().messages[].event') : undefined;
    const version = event?.keyVersion;
    if (!event || event.type !== 'keyChange' || event.verified !== true || typeof version !== 'string') {
      return reject('bad_signature', 'the SDK did not report the key change as verified', f);
    }
    if (version !== f.conversationKeyVersion) {
      return reject('malformed', `the SDK read key version ${version}, the event names ${f.conversationKeyVersion ?? 'none'}`, f);
    }
    const keys = record(record(result.conversationKeys, 'decryptEvents().conversationKeys').keys, 'decryptEvents().conversationKeys.keys');
    const key = keys[version];
    if (!(key instanceof Uint8Array)) return reject('undecryptable', `no key for this account in key change ${version}`, f);
    const known = ring.key(version);
    if (known && !Buffer.from(known).equals(Buffer.from(key))) {
      key.fill(0);
      return reject('malformed', `conversation key ${version} is already known with other bytes; the first one is kept`, f);
    }
    ring.add(version, key);
    key.fill(0);
    return { status: 'keyChange', conversationKeyVersion: version, eventId: f.messageId, senderId: f.senderId };
  }

  /**
   * Verifies and decrypts one base64 `MessageEvent` of `ring`'s conversation. Fails closed: a message
   * comes back only when its signature verified against `signingKeys`; a key change adds its key to
   * the ring only when its signature verified.
   */
  decryptEvent(ring: ConversationKeyRing, eventB64: string, signingKeys: readonly SigningKey[]): DecryptOutcome {
    const parsed = parseEvent(eventB64, 'encoded_event');
    if (!parsed.ok) return parsed.rejection;
    const f = parsed.fields;
    if (f.conversationId !== ring.conversationId) {
      return reject('conversation_mismatch', `the event is for ${f.conversationId ?? 'no conversation'}, not ${ring.conversationId}`, f);
    }
    if (f.detail === 'conversationKeyChange') return this.#applyKeyChange(ring, eventB64, signingKeys);
    if (f.detail !== 'messageCreate') {
      return { status: 'event', kind: f.detail, eventId: f.messageId, senderId: f.senderId };
    }
    if (!f.signature?.signature) return reject('unsigned', 'the message carries no signature', f);
    const version = f.conversationKeyVersion;
    if (!version) return reject('malformed', 'the message names no conversation key version', f);
    if (!ring.has(version)) {
      return reject(
        'unknown_key_version',
        `conversation key ${version} is unknown (known: ${ring.versions().join(', ') || 'none'})`,
        f,
      );
    }
    let out: Record<string, unknown>;
    try {
      out = record(this.#live().decryptEvent(eventB64, ring.sdkKeys(version), signingKeys), 'decryptEvent()');
    } catch (err) {
      const c = classify(err);
      return reject(c.reason, c.detail, f);
    }
    if (out.verified !== true) return reject('bad_signature', 'the SDK did not report the message as verified', f);
    if (out.senderId !== f.senderId || out.conversationId !== f.conversationId || out.id !== f.messageId) {
      return reject('malformed', 'the SDK read other ids than the event carries', f);
    }
    if (out.type !== 'message') {
      return { status: 'event', kind: String(out.type), eventId: f.messageId, senderId: f.senderId };
    }
    const content = record(out.content ?? {}, 'decryptEvent().content');
    if (!f.messageId || !f.senderId) return reject('malformed', 'the message has no id or no sender', f);
    return {
      status: 'message',
      message: {
        messageId: f.messageId,
        sequenceId: f.sequenceId,
        senderId: f.senderId,
        conversationId: ring.conversationId,
        createdAtMsec: f.createdAtMsec,
        conversationKeyVersion: version,
        text: typeof content.text === 'string' ? content.text : '',
        attachments: attachmentsOf(out.attachments ?? content.attachments),
      },
    };
  }

  /**
   * Decrypts a `chat.received` / `chat.sent` payload as X delivers it: its key change first (kept only
   * when verified), then `encoded_event`. The unsigned envelope fields must agree with the signed event.
   * A bare `encrypted_conversation_key` (X's sample bot reads one when present) is not used: nothing
   * signs it, so keys come only from verified key changes; without one, rebuild the ring from the
   * conversation's key change events (`GET /2/chat/conversations/{id}/events`) with `applyKeyChanges`.
   */
  decryptPayload(ring: ConversationKeyRing, payload: unknown, signingKeys: readonly SigningKey[]): PayloadOutcome {
    if (typeof payload !== 'object' || payload === null) {
      return { outcome: reject('malformed', 'the chat payload is not an object'), learnedKeyVersions: [], keyChangeRejections: [] };
    }
    const p = payload as Record<string, unknown>;
    const keyEvents = typeof p.conversation_key_change_event === 'string' ? [p.conversation_key_change_event] : [];
    // A key change omni already holds needs no second check.
    const fresh = keyEvents.filter((ev) => {
      const parsed = parseEvent(ev, 'conversation_key_change_event');
      return !parsed.ok || !parsed.fields.conversationKeyVersion || !ring.has(parsed.fields.conversationKeyVersion);
    });
    const { learned, rejected } = this.applyKeyChanges(ring, fresh, signingKeys);
    const outcome = this.decryptEvent(ring, p.encoded_event as string, signingKeys);
    if (outcome.status === 'message') {
      const m = outcome.message;
      const mismatch: string[] = [];
      if (p.sender_id !== undefined && String(p.sender_id) !== m.senderId) mismatch.push(`sender_id ${String(p.sender_id)} ≠ ${m.senderId}`);
      if (p.conversation_id !== undefined && signedConversationId(String(p.conversation_id)) !== m.conversationId) {
        mismatch.push(`conversation_id ${String(p.conversation_id)} ≠ ${m.conversationId}`);
      }
      if (mismatch.length > 0) {
        return {
          outcome: {
            status: 'rejected',
            reason: 'envelope_mismatch',
            detail: `the payload disagrees with the signed event: ${mismatch.join(', ')}`,
            eventId: m.messageId,
            sequenceId: m.sequenceId,
            senderId: m.senderId,
            conversationId: m.conversationId,
          },
          learnedKeyVersions: learned,
          keyChangeRejections: rejected,
        };
      }
    }
    return { outcome, learnedKeyVersions: learned, keyChangeRejections: rejected };
  }

  /** Encrypts and signs `text` under the ring's newest key (X refuses older ones), optionally as a reply. */
  encryptMessage(ring: ConversationKeyRing, text: string, options: { replyToEvent?: string; attachments?: OutgoingAttachment[] } = {}): OutgoingChatMessage {
    const version = ring.latestVersion();
    if (version === undefined) {
      throw new OmniError(`no conversation key for ${ring.conversationId}`, {
        hint: 'create one with a key change (prepareConversationKey) or load the conversation key events first',
      });
    }
    const params = {
      conversationId: ring.conversationId,
      text,
      conversationKey: ring.key(version),
      conversationKeyVersion: version,
      senderId: this.userId,
      signingKeyVersion: this.#version,
      ...(options.attachments && options.attachments.length > 0 ? { attachments: options.attachments } : {}),
    };
    const what = options.replyToEvent === undefined ? 'encryptMessage()' : 'encryptReply()';
    let out: Record<string, unknown>;
    try {
      out = record(
        options.replyToEvent === undefined
          ? this.#live().encryptMessage(params)
          : this.#live().encryptReply({ ...params, replyToEvent: options.replyToEvent }),
        what,
      );
    } catch (err) {
      if (err instanceof OmniError) throw err;
      throw new OmniError(`X Chat could not encrypt the message: ${(err as Error).message}`, {
        hint: options.replyToEvent === undefined ? 'this is a bug in omni' : 'reply to the raw encoded_event X delivered, unchanged',
      });
    }
    return {
      conversationId: ring.conversationId,
      urlConversationId: urlConversationId(ring.conversationId),
      conversationKeyVersion: version,
      body: {
        message_id: field(out, 'messageId', what),
        encoded_message_create_event: field(out, 'encryptedContent', what),
        encoded_message_event_signature: field(out, 'encodedEventSignature', what),
      },
    };
  }

  /** Wipes the keys from WASM memory; the identity is unusable afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#chat.lock();
    this.#chat.free();
  }

  toJSON(): IdentitySummary {
    return this.describe();
  }

  [inspect.custom](): string {
    if (this.#disposed) return `XChatIdentity(${this.userId}, disposed)`;
    const d = this.describe();
    return `XChatIdentity(${d.userId}, key ${d.publicKeyVersion}, fingerprint ${d.fingerprint})`;
  }

  #live(): WasmChat {
    if (this.#disposed) throw new OmniError('this X Chat identity was disposed', { hint: 'this is a bug in omni' });
    return this.#chat;
  }
}

function assertUserId(id: string): void {
  if (!USER_ID.test(id)) throw new OmniError(`"${id}" is not an X user id`, { hint: 'X user ids are 1-19 digits' });
}
