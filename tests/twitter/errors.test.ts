import { describe, expect, it } from 'vitest';
import { parseTwitterErrors, twitterErrorFromResponse, twitterNetworkError, type TwitterCall } from '../../src/twitter/errors.js';

const user: TwitterCall = { method: 'GET', url: 'https://api.twitter.com/1.1/account/verify_credentials.json', auth: 'user', what: 'verify the credentials', editCommand: 'omni interaction edit 7' };
const envCall: TwitterCall = {
  method: 'POST',
  url: 'https://api.twitter.com/1.1/account_activity/all/dev/webhooks.json?url=x',
  auth: 'user',
  what: 'register the webhook',
  env: 'dev',
  webhookUrl: 'https://help.example.com/webhooks/twitter/7',
};
const body = (code: number, message: string) => ({ errors: [{ code, message }] });

describe('Twitter error mapping', () => {
  it('parses the v1.1 error shape from objects and strings, and nothing else', () => {
    expect(parseTwitterErrors(body(32, 'Could not authenticate you.'))).toEqual([{ code: 32, message: 'Could not authenticate you.' }]);
    expect(parseTwitterErrors('{"errors":[{"code":"89","message":"Invalid or expired token."}]}')).toEqual([{ code: 89, message: 'Invalid or expired token.' }]);
    expect(parseTwitterErrors({ title: 'Unauthorized', detail: 'v2 problem' })).toEqual([]);
    expect(parseTwitterErrors('<html>')).toEqual([]);
    expect(parseTwitterErrors(undefined)).toEqual([]);
  });

  it('32: the signature secrets; 89: the access token; both point at the edit command', () => {
    const e32 = twitterErrorFromResponse(user, 401, body(32, 'Could not authenticate you.'));
    expect(e32).toMatchObject({ kind: 'credentials', twitterCode: 32, httpStatus: 401, exitCode: 1 });
    expect(e32.message).toBe('Twitter could not authenticate the request: the OAuth signature does not match (HTTP 401, Twitter code 32): Could not authenticate you.');
    expect(e32.hint).toContain('API secret key and the access token secret');
    expect(e32.hint).toContain('omni interaction edit 7');
    const e89 = twitterErrorFromResponse(user, 401, body(89, 'Invalid or expired token.'));
    expect(e89.kind).toBe('credentials');
    expect(e89.message).toContain('access token is invalid or expired');
    expect(e89.hint).toContain('access token and its secret');
  });

  it('a bare 401 blames the four credentials (user) or the API key and secret (app-only)', () => {
    expect(twitterErrorFromResponse(user, 401, '').hint).toContain('four credentials');
    const app = twitterErrorFromResponse({ ...user, auth: 'app' }, 401, '');
    expect(app.kind).toBe('app-credentials');
    expect(app.hint).toContain('API key and API secret key');
  });

  it('99 on the token endpoint: the API key and secret', () => {
    const e = twitterErrorFromResponse({ method: 'POST', url: 'https://api.twitter.com/oauth2/token', auth: 'token', what: 'issue a bearer token' }, 403, {
      errors: [{ code: 99, label: 'authenticity_token_error', message: 'Unable to verify your credentials' }],
    });
    expect(e.kind).toBe('app-credentials');
    expect(e.message).toContain('refused the API key and API secret key');
  });

  it('214: the CRC (with the URL Twitter tried), https, port, too many webhooks', () => {
    const crc = twitterErrorFromResponse(envCall, 400, body(214, 'Non-200 response code during CRC GET request (i.e. 404, 500, etc).'));
    expect(crc.kind).toBe('webhook-rejected');
    expect(crc.message).toBe(
      "Twitter's CRC check of https://help.example.com/webhooks/twitter/7 failed (HTTP 400, Twitter code 214): Non-200 response code during CRC GET request (i.e. 404, 500, etc).",
    );
    expect(crc.hint).toContain('Twitter sent GET https://help.example.com/webhooks/twitter/7?crc_token=');
    expect(crc.hint).toContain("'omni listen' must be running");
    const slow = twitterErrorFromResponse(envCall, 400, body(214, 'High latency on CRC GET request. Your webhook should respond in less than 3 seconds.'));
    expect(slow.message).toContain('High latency');
    expect(twitterErrorFromResponse(envCall, 400, body(214, 'Webhook URL does not meet the requirements. Please use HTTPS.')).message).toContain('only accepts https');
    expect(twitterErrorFromResponse(envCall, 400, body(214, 'Please remove the port from the URL.')).hint).toContain('without a port');
    const many = twitterErrorFromResponse(envCall, 400, body(214, 'Too many resources already created.'));
    expect(many.message).toContain("'dev' already holds a webhook");
    expect(many.hint).toContain('--replace');
  });

  it('200 on an environment call: unknown environment; 355: already subscribed', () => {
    const e = twitterErrorFromResponse(envCall, 403, body(200, 'Forbidden.'));
    expect(e.kind).toBe('unknown-environment');
    expect(e.message).toContain("no dev environment named 'dev'");
    expect(twitterErrorFromResponse(envCall, 409, body(355, 'Subscription already exists.')).kind).toBe('already-subscribed');
  });

  it('348 not permitted; 93 DM permission; 349 recipient', () => {
    const e348 = twitterErrorFromResponse(envCall, 403, body(348, "Client application is not permitted to access this user's webhook subscriptions."));
    expect(e348.kind).toBe('not-permitted');
    expect(e348.hint).toContain('regenerate');
    const e93 = twitterErrorFromResponse(user, 403, body(93, 'This application is not allowed to access or delete your direct messages.'));
    expect(e93.kind).toBe('dm-permission');
    expect(e93.message).toContain('"Read, Write and Direct Messages"');
    expect(e93.hint).toContain('regenerate the access token and secret');
    expect(twitterErrorFromResponse(user, 403, body(349, 'You cannot send messages to this user.')).kind).toBe('recipient-refused');
  });

  it('88/429: rate limited until x-rate-limit-reset, or a 15-minute window without it', () => {
    const now = new Date('2024-05-01T12:00:00Z');
    const reset = now.getTime() / 1000 + 754;
    const e = twitterErrorFromResponse(user, 429, body(88, 'Rate limit exceeded'), { 'x-rate-limit-reset': String(reset) }, now);
    expect(e.kind).toBe('rate-limited');
    expect(e.resetAt?.toISOString()).toBe('2024-05-01T12:12:34.000Z');
    expect(e.message).toBe("Twitter's rate limit for GET /1.1/account/verify_credentials.json is used up until 12:12:34 UTC (in 13 min) (HTTP 429, Twitter code 88)");
    const bare = twitterErrorFromResponse(user, 429, '', {}, now);
    expect(bare.resetAt).toBeUndefined();
    expect(bare.hint).toContain('15 minutes');
  });

  it('135 clock, 5xx unavailable, 34 not found, anything else with Twitter\'s words', () => {
    expect(twitterErrorFromResponse(user, 401, body(135, 'Timestamp out of bounds.')).kind).toBe('clock');
    expect(twitterErrorFromResponse(user, 503, 'Over capacity').kind).toBe('unavailable');
    expect(twitterErrorFromResponse(user, 404, body(34, 'Sorry, that page does not exist.')).kind).toBe('not-found');
    const other = twitterErrorFromResponse(user, 400, body(44, 'attachment_url parameter is invalid.'));
    expect(other.kind).toBe('other');
    expect(other.message).toBe('Twitter refused to verify the credentials (HTTP 400, Twitter code 44): attachment_url parameter is invalid.');
  });

  it('network errors name the method and URL; timeouts say so', () => {
    const refused = twitterNetworkError(user, Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }), 'https://api.twitter.com');
    expect(refused.kind).toBe('network');
    expect(refused.message).toBe('cannot reach Twitter: GET https://api.twitter.com/1.1/account/verify_credentials.json: connect ECONNREFUSED 10.0.0.1:443');
    expect(refused.hint).toContain('OMNI_TWITTER_API_URL');
    const agg = twitterNetworkError(user, Object.assign(new AggregateError([new Error('connect ECONNREFUSED ::1:443')], ''), { code: 'ECONNREFUSED' }), 'x');
    expect(agg.message).toBe('cannot reach Twitter: GET https://api.twitter.com/1.1/account/verify_credentials.json: connect ECONNREFUSED ::1:443');
    const slow = twitterNetworkError(user, new Error('Request timeout.'), 'https://api.twitter.com', 15_000);
    expect(slow.kind).toBe('timeout');
    expect(slow.message).toBe('no answer from Twitter within 15 s: GET https://api.twitter.com/1.1/account/verify_credentials.json');
  });
});
