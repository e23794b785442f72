// Twitter's one MAC: HMAC-SHA256 keyed with the app's consumer (API) secret. It answers CRC
// challenges and signs every webhook delivery, always over raw bytes (never re-serialised JSON).
import crypto from 'node:crypto';

export const SIGNATURE_HEADER = 'x-twitter-webhooks-signature';

function mac(consumerSecret: string, data: string | Uint8Array): string {
  return 'sha256=' + crypto.createHmac('sha256', consumerSecret).update(data).digest('base64');
}

/** The `response_token` of a CRC answer: {"response_token": crcResponseToken(secret, crc_token)}. */
export function crcResponseToken(consumerSecret: string, crcToken: string): string {
  return mac(consumerSecret, crcToken);
}

/** The x-twitter-webhooks-signature value for a raw delivery body. */
export function signBody(consumerSecret: string, rawBody: string | Uint8Array): string {
  return mac(consumerSecret, rawBody);
}

/** Constant-time check of a delivery's signature header against its raw body. */
export function verifySignature(consumerSecret: string, rawBody: Uint8Array, header: string | undefined | null): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(consumerSecret, rawBody));
  const given = Buffer.from(header.trim());
  // timingSafeEqual needs equal lengths; a length mismatch reveals nothing secret.
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}
