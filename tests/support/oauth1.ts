// OAuth 1.0a HMAC-SHA1 as the server side computes it (RFC 5849 §3.4), written from the RFC and
// Twitter's "Creating a signature" page, not from any client library, so the fake Twitter checks
// what a real one would and cannot share a client's bug.
import crypto from 'node:crypto';

/** RFC 3986 unreserved characters stay, everything else is %XX with upper-case hex (RFC 5849 §3.6). */
export function percentEncode(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
    })
    .join('');
}

/** `OAuth realm="x", oauth_consumer_key="..."` → decoded map (realm excluded, §3.5.1). */
export function parseAuthorizationHeader(header: string | undefined): Map<string, string> | undefined {
  if (!header) return undefined;
  const m = /^OAuth\s+(.*)$/is.exec(header.trim());
  if (!m) return undefined;
  const out = new Map<string, string>();
  for (const part of m[1]!.split(',')) {
    const kv = /^\s*([^=\s]+)\s*=\s*"([^"]*)"\s*$/.exec(part);
    if (!kv) return undefined;
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(kv[1]!);
      value = decodeURIComponent(kv[2]!);
    } catch {
      return undefined;
    }
    if (key !== 'realm') out.set(key, value);
  }
  return out;
}

/** scheme://host[:port]/path, lower-case scheme and host, default ports dropped (§3.4.1.2). */
export function baseStringUri(scheme: string, host: string, path: string): string {
  const s = scheme.toLowerCase();
  let h = host.toLowerCase();
  if ((s === 'http' && h.endsWith(':80')) || (s === 'https' && h.endsWith(':443'))) h = h.replace(/:\d+$/, '');
  return `${s}://${h}${path}`;
}

/**
 * The signature base string: METHOD&enc(base URI)&enc(normalized parameters), where the
 * parameters are the query, the form body and the oauth_* protocol parameters except
 * oauth_signature, each name and value encoded, then sorted by name and value (§3.4.1.3.2).
 */
export function signatureBaseString(method: string, uri: string, params: Array<[string, string]>): string {
  const normalized = params
    .filter(([k]) => k !== 'oauth_signature')
    .map(([k, v]) => [percentEncode(k), percentEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `${method.toUpperCase()}&${percentEncode(uri)}&${percentEncode(normalized)}`;
}

export function hmacSha1Signature(baseString: string, consumerSecret: string, tokenSecret: string): string {
  return crypto.createHmac('sha1', `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`).update(baseString).digest('base64');
}

/** Constant-time comparison of two base64 signatures. */
export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** Query or form body as decoded pairs, duplicates kept ('+' is a space, as in §3.4.1.3.1). */
export function formPairs(encoded: string): Array<[string, string]> {
  return [...new URLSearchParams(encoded)];
}
