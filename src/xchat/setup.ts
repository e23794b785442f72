// Setting up an account's X Chat identity: create keys and register their public half at X, or import
// a key blob X already knows, and keep the private blob encrypted (src/xchat/store.ts). X allows only a
// few key registrations per account per 24 h, so: an identity that exists is never replaced without
// `rotate`; keys are stored (pending) before they are sent, and a failed registration is retried with
// the same keys on the next run instead of spending another registration on new ones.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { OmniError, UsageError } from '../errors.js';
import type { SecretBox } from '../secrets.js';
import type { XChatApi } from './keys.js';
import { XChatIdentity, type PublicKeyRegistration, type RegisteredPublicKey } from './sdk.js';
import { activateXChatIdentity, loadPendingXChatIdentity, pendingRegistration, storeXChatIdentity, xchatState, type XChatIdentityView } from './store.js';

export interface XChatSetupApi extends Pick<XChatApi, 'chatPublicKeys'> {
  registerChatPublicKeys(userId: string, registration: PublicKeyRegistration): Promise<{ publicKeyVersion: string }>;
}

export interface XChatSetupOptions {
  db: Kysely<Database>;
  box: SecretBox;
  api: XChatSetupApi;
  interactionId: number;
  /** The support account (interactions.account_user_id, from `interaction authorize`). */
  accountUserId: string;
  /** Replace an existing identity (or a registration X holds that omni does not). */
  rotate: boolean;
  /** A 64-byte key blob to import instead of generating keys. Wiped after use. */
  importBlob?: Uint8Array;
  now: () => Date;
  actor: string;
  /** The command the fixes name, e.g. `omni interaction xchat setup 3`. */
  command: string;
  /** Called right before a registration is sent (the daily limit warning). */
  beforeRegistration?: () => void;
}

export interface XChatSetupResult {
  action: 'registered' | 'rotated' | 'resumed' | 'imported';
  identity: XChatIdentityView;
  /** The identity this one replaced, if any. */
  replaced: XChatIdentityView | undefined;
}

function describe(v: XChatIdentityView): string {
  return `key version ${v.keyVersion}, X public key version ${v.publicKeyVersion ?? 'pending'}, fingerprint ${v.fingerprint}`;
}

export async function setupXChat(o: XChatSetupOptions): Promise<XChatSetupResult> {
  const state = await xchatState(o.db, o.interactionId);
  const w = () => ({ now: o.now().toISOString(), actor: o.actor, box: o.box });
  if (state.active && state.active.accountUserId !== o.accountUserId && !o.rotate) {
    throw new UsageError(
      `the X Chat identity of interaction ${o.interactionId} belongs to user ${state.active.accountUserId}, but the interaction is now authorized as ${o.accountUserId}`,
      `create one for the new account: ${o.command} --rotate`,
    );
  }

  if (o.importBlob) return importIdentity(o, state.active, w);

  if (state.pending) {
    const registration = await pendingRegistration(o.db, state.pending.id);
    if (!registration) throw new OmniError(`the pending X Chat keys of interaction ${o.interactionId} lost their registration body`, { hint: `${o.command} --rotate` });
    const identity = await loadPendingXChatIdentity(o.db, o.box, state.pending.id);
    try {
      o.beforeRegistration?.();
      const { publicKeyVersion } = await o.api.registerChatPublicKeys(o.accountUserId, registration);
      const active = await activateXChatIdentity(o.db, state.pending.id, publicKeyVersion, { ...w(), auditExtra: { resumed: true } });
      return { action: 'resumed', identity: active, replaced: state.active };
    } finally {
      identity.dispose();
    }
  }

  if (state.active && !o.rotate) {
    throw new UsageError(
      `interaction ${o.interactionId} already has an X Chat identity (${describe(state.active)}); registering again would spend one of X's few key registrations per day`,
      `nothing to do; to replace the keys: ${o.command} --rotate`,
    );
  }
  if (!state.active && !o.rotate) {
    const atX = await o.api.chatPublicKeys(o.accountUserId);
    if (atX.length > 0) {
      throw new UsageError(
        `X already holds X Chat keys for user ${o.accountUserId} (public key version${atX.length > 1 ? 's' : ''} ${atX.map((k) => k.public_key_version).join(', ')}) that omni does not have`,
        `import that key blob: ${o.command} --import-key-file <path>; or register new keys with ${o.command} --rotate (whoever holds the old keys stops reading new conversations)`,
      );
    }
  }

  const { identity, registration } = await XChatIdentity.generate(o.accountUserId);
  try {
    const pending = await storeXChatIdentity(o.db, { interactionId: o.interactionId, identity, origin: 'generated', registration }, { ...w(), auditExtra: { rotate: o.rotate } });
    o.beforeRegistration?.();
    let publicKeyVersion: string;
    try {
      ({ publicKeyVersion } = await o.api.registerChatPublicKeys(o.accountUserId, registration));
    } catch (err) {
      if (!(err instanceof OmniError)) throw err;
      throw new OmniError(err.message, {
        exitCode: err.exitCode,
        cause: err,
        hint: `${err.hint ? `${err.hint}; then ` : ''}run ${o.command} again: it retries with the same keys (kept encrypted, pending registration)`,
      });
    }
    const active = await activateXChatIdentity(o.db, pending.id, publicKeyVersion, w());
    return { action: state.active ? 'rotated' : 'registered', identity: active, replaced: state.active };
  } finally {
    identity.dispose();
  }
}

async function importIdentity(
  o: XChatSetupOptions,
  active: XChatIdentityView | undefined,
  w: () => { now: string; actor: string; box: SecretBox },
): Promise<XChatSetupResult> {
  const blob = o.importBlob!;
  let identity: XChatIdentity;
  try {
    // The version is X's answer below; the SDK needs one to load the keys.
    identity = await XChatIdentity.fromKeyBlob(o.accountUserId, blob, 'import');
  } finally {
    blob.fill(0);
  }
  try {
    const fingerprint = identity.fingerprint();
    if (active && active.fingerprint === fingerprint) {
      throw new UsageError(`this key is already the X Chat identity of interaction ${o.interactionId} (${describe(active)})`, 'nothing to do');
    }
    if (active && !o.rotate) {
      throw new UsageError(
        `interaction ${o.interactionId} already has an X Chat identity (${describe(active)})`,
        `to replace it with the imported key: ${o.command} --import-key-file <path> --rotate`,
      );
    }
    const atX: RegisteredPublicKey[] = await o.api.chatPublicKeys(o.accountUserId);
    const match = [...atX].reverse().find((k) => identity.matchesRegisteredKey(k.public_key));
    if (!match) {
      throw new UsageError(
        `the imported key is not registered at X for user ${o.accountUserId}${atX.length ? ` (X holds version${atX.length > 1 ? 's' : ''} ${atX.map((k) => k.public_key_version).join(', ')})` : ''}`,
        `import the key of this account, or let omni create and register new keys: ${o.command}${active || atX.length ? ' --rotate' : ''}`,
      );
    }
    identity.adoptPublicKeyVersion(match.public_key_version);
    const view = await storeXChatIdentity(
      o.db,
      { interactionId: o.interactionId, identity, origin: 'imported', registeredAs: { publicKeyVersion: match.public_key_version, identityPublicKeySignature: match.identity_public_key_signature } },
      { ...w(), auditExtra: { rotate: o.rotate } },
    );
    return { action: 'imported', identity: view, replaced: active };
  } finally {
    identity.dispose();
  }
}

/**
 * `omni apply` restoring an identity `omni export --include-secrets` wrote: X registered it already, so
 * nothing is sent; the blob must have the fingerprint the file names. Returns the refusal, if any.
 */
export async function restoreXChatIdentity(
  db: Kysely<Database>,
  interactionId: number,
  x: { keyBlob: string; publicKeyVersion: string; accountUserId: string; fingerprint: string; identityPublicKeySignature?: string },
  w: { now: string; actor: string; box: SecretBox; auditExtra?: Record<string, unknown> },
): Promise<string | undefined> {
  const blob = new Uint8Array(Buffer.from(x.keyBlob, 'base64'));
  let identity: XChatIdentity;
  try {
    identity = await XChatIdentity.fromKeyBlob(x.accountUserId, blob, x.publicKeyVersion);
  } catch (err) {
    return (err as Error).message;
  } finally {
    blob.fill(0);
  }
  try {
    const fingerprint = identity.fingerprint();
    if (fingerprint !== x.fingerprint) return `the key blob has fingerprint ${fingerprint}, not ${x.fingerprint}: it is not the identity the file names`;
    await storeXChatIdentity(
      db,
      { interactionId, identity, origin: 'imported', registeredAs: { publicKeyVersion: x.publicKeyVersion, identityPublicKeySignature: x.identityPublicKeySignature ?? '' } },
      { ...w, auditExtra: { ...w.auditExtra, restored: true } },
    );
    return undefined;
  } finally {
    identity.dispose();
  }
}
