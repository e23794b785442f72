// Decrypting an interaction's API secret costs an AES-GCM open per request; the cache keeps the
// clear value keyed by the stored envelope. The row itself is read on every request (one
// primary-key select), so a deleted interaction is never served and an edited secret (a new
// envelope, new random IV) is decrypted again on its first use.
import type { SecretBox } from '../secrets.js';
import { SECRET_COLUMNS } from '../interactions/model.js';

export interface SecretCache {
  apiSecret(interactionId: number, envelope: string): string;
}

export function createSecretCache(box: SecretBox): SecretCache {
  const cache = new Map<number, { envelope: string; secret: string }>();
  return {
    apiSecret(interactionId, envelope) {
      const hit = cache.get(interactionId);
      if (hit && hit.envelope === envelope) return hit.secret;
      const secret = box.decrypt(envelope, SECRET_COLUMNS.apiSecretKey);
      cache.set(interactionId, { envelope, secret });
      return secret;
    },
  };
}
