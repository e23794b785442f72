// Raw HTTP helpers for tests of the fake X itself (no omni code in between): the app bearer, a PKCE
// authorization as a browser would do it, and JSON requests.
import crypto from 'node:crypto';

export async function raw(base: string, method: string, path: string, opts: { token?: string; json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}), redirect: 'manual' });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export async function appBearer(base: string, key: string, secret: string): Promise<string> {
  const r = await raw(base, 'POST', '/oauth2/token', { form: { grant_type: 'client_credentials' }, headers: { authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}` } });
  return r.body.access_token as string;
}

export function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

/** The browser part: GET the authorize page, return the redirect's query. */
export async function approve(base: string, p: { clientId: string; redirectUri: string; challenge: string; state?: string; scope?: string; method?: string }) {
  const u = new URL('/i/oauth2/authorize', base);
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    scope: p.scope ?? 'dm.read dm.write tweet.read users.read offline.access',
    state: p.state ?? 'st',
    code_challenge: p.challenge,
    code_challenge_method: p.method ?? 'S256',
  }).toString();
  const res = await fetch(u, { redirect: 'manual' });
  await res.text();
  const location = res.headers.get('location');
  return { status: res.status, location, params: location ? new URL(location).searchParams : undefined };
}
