// Which CRC tokens omni answers. The CRC answer is HMAC-SHA256(consumer secret, crc_token): the very
// MAC that signs webhook deliveries. Answering any token would hand out a valid
// x-twitter-webhooks-signature for any body an attacker chooses (send the forged JSON as crc_token,
// then POST it with the answer). Twitter's tokens are short base64/base64url strings (~48 characters
// in the wild), so we answer only tokens of that shape: a delivery body must be a JSON object, and
// `{`, `"` and `:` are outside this alphabet, so no answer can ever sign one.

/**
 * Sent by `omni doctor` with its CRC probe, so the listener does not record the probe as a sign of
 * life from Twitter (the CRC freshness check would then always look fine).
 */
export const PROBE_USER_AGENT = 'omni-doctor';

/** Twitter's tokens are ~48 characters; 256 leaves room for a longer format without admitting bodies. */
export const CRC_TOKEN_MAX_LENGTH = 256;
/** Nothing shorter is plausible; 4 keeps the documented manual check (`?crc_token=test`) working. */
export const CRC_TOKEN_MIN_LENGTH = 4;
/** Base64 and base64url (letters, digits, - _ = + /), after URL decoding. */
const TOKEN_ALPHABET = /^[A-Za-z0-9\-_=+/]+$/;

export type CrcTokenProblem = 'missing_token' | 'token_too_short' | 'token_too_long' | 'token_bad_characters';

export interface CrcTokenRefusal {
  reason: CrcTokenProblem;
  /** Safe to send back: never echoes the token. */
  message: string;
}

/** Undefined when the (URL-decoded) token may be answered; otherwise why not. */
export function crcTokenRefusal(token: string | null | undefined): CrcTokenRefusal | undefined {
  if (token === null || token === undefined || token === '') return { reason: 'missing_token', message: 'missing crc_token' };
  if (token.length > CRC_TOKEN_MAX_LENGTH) return { reason: 'token_too_long', message: `crc_token longer than ${CRC_TOKEN_MAX_LENGTH} characters` };
  if (token.length < CRC_TOKEN_MIN_LENGTH) return { reason: 'token_too_short', message: `crc_token shorter than ${CRC_TOKEN_MIN_LENGTH} characters` };
  if (!TOKEN_ALPHABET.test(token)) return { reason: 'token_bad_characters', message: 'crc_token may only hold letters, digits and - _ = + /' };
  return undefined;
}
