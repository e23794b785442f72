// The tombstone of an erased requester: a keyed hash of each of their DM event ids, so that X
// replaying a delivery, retrying a late one, or omni reconciling history cannot bring an erased DM
// back. The hash is HMAC-SHA256 under a subkey derived from the installation's secret key (never the
// AES key itself): without the key the table says nothing, not even which event ids it holds.
import crypto from 'node:crypto';
import type { SecretBox } from '../secrets.js';

/** The derivation label of the subkey; a new label (v2) would be a new set of hashes. */
export const TOMBSTONE_KEY_LABEL = 'erased-events/v1';

/** The subkey as base64 (how it crosses to the listener's writer thread). */
export function tombstoneKey(box: SecretBox): string {
  return box.subkey(TOMBSTONE_KEY_LABEL).toString('base64');
}

/** The hash function of DM event ids: hex HMAC-SHA256. */
export function eventHasher(key: Buffer): (eventId: string) => string {
  if (key.length !== 32) throw new Error(`the tombstone key must be 32 bytes, not ${key.length}`);
  return (eventId) => crypto.createHmac('sha256', key).update(eventId, 'utf8').digest('hex');
}

/** The hasher of an installation. */
export function tombstoneHasher(box: SecretBox): (eventId: string) => string {
  return eventHasher(box.subkey(TOMBSTONE_KEY_LABEL));
}
