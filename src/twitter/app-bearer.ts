// The app-only bearer token: POST {api base}/oauth2/token, grant_type=client_credentials, Basic auth
// with the API key and secret (twitter-api-v2's appLogin() posts to a fixed https://api.x.com, which
// would bypass OMNI_TWITTER_API_URL). Used by the v1.1 gateway and the v2 gateway alike.
import { twitterBadResponse, twitterErrorFromResponse, type TwitterCall } from './errors.js';
import { xFetch } from './http.js';

export interface AppCredentials {
  apiKey: string;
  apiSecretKey: string;
}

export async function issueAppBearer(
  creds: AppCredentials,
  o: { baseUrl: string; timeoutMs: number; signal?: AbortSignal; editCommand?: string },
): Promise<string> {
  const call: TwitterCall = { method: 'POST', url: `${o.baseUrl}/oauth2/token`, auth: 'token', what: 'issue an app-only bearer token', ...(o.editCommand ? { editCommand: o.editCommand } : {}) };
  // RFC 6749 §2.3.1: form-encode key and secret before joining them.
  const basic = Buffer.from(`${encodeURIComponent(creds.apiKey)}:${encodeURIComponent(creds.apiSecretKey)}`).toString('base64');
  const res = await xFetch(
    call,
    { method: 'POST', url: call.url, headers: { authorization: `Basic ${basic}` }, form: { grant_type: 'client_credentials' } },
    { timeoutMs: o.timeoutMs, baseUrl: o.baseUrl, ...(o.signal ? { signal: o.signal } : {}) },
  );
  if (res.status !== 200) throw twitterErrorFromResponse(call, res.status, res.body, res.headers);
  const token = (res.body ?? {}) as { token_type?: unknown; access_token?: unknown };
  if (String(token.token_type).toLowerCase() !== 'bearer' || typeof token.access_token !== 'string' || token.access_token === '') {
    throw twitterBadResponse(call, 'no bearer access_token in the answer');
  }
  return token.access_token;
}
