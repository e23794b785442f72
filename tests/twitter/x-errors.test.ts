// X API v2 error mapping: every shape X answers (errors[], problem JSON, {code,message}, OAuth 2.0
// {error,error_description}) to one line with the fix, reason names matched wherever they appear.
import { describe, expect, it } from 'vitest';
import { oauthTokenError, parseXErrorBody, X_REASONS, xErrorFromResponse, type TwitterCall } from '../../src/twitter/errors.js';

const hookCall: TwitterCall = { method: 'POST', url: 'https://api.x.com/2/webhooks', auth: 'app', what: 'register the webhook', webhookUrl: 'https://help.example.com/webhooks/twitter', authorizeCommand: 'omni interaction authorize 4' };
const userCall: TwitterCall = { method: 'POST', url: 'https://api.x.com/2/dm_conversations/with/1/messages', auth: 'user2', what: 'send a direct message', authorizeCommand: 'omni interaction authorize 4' };
const generic = (reason: string, msg = 'details') => ({
  errors: [{ message: `${reason}: ${msg}` }],
  title: 'Invalid Request',
  detail: 'One or more parameters to your request was invalid.',
  type: 'https://api.twitter.com/2/problems/invalid-request',
});

function oneLine(message: string) {
  expect(message).not.toContain('\n');
}

describe('X v2 error mapping', () => {
  it('finds the reason name in errors[].message behind a generic detail, and quotes the specific text', () => {
    const p = parseXErrorBody(generic('WebhookLimitExceeded', 'Maximum number of webhooks (1) reached.'));
    expect(p.reason).toBe('WebhookLimitExceeded');
    expect(p.quote).toBe('WebhookLimitExceeded: Maximum number of webhooks (1) reached.');
    // In detail, in title, in a problem type, in a JSON string body: found too.
    expect(parseXErrorBody({ title: 'Bad', detail: 'CrcValidationFailed: no answer' }).reason).toBe('CrcValidationFailed');
    expect(parseXErrorBody({ title: 'DuplicateUrlFailed' }).reason).toBe('DuplicateUrlFailed');
    expect(parseXErrorBody(JSON.stringify({ code: 400, message: 'SubscriptionNotFound: gone' })).reason).toBe('SubscriptionNotFound');
    expect(parseXErrorBody('<html>oops</html>').reason).toBeUndefined();
  });

  const cases: Array<[string, string, string | RegExp]> = [
    ['CrcValidationFailed', 'crc-failed', /curl 'https:\/\/help\.example\.com\/webhooks\/twitter\?crc_token=test'/],
    ['UrlValidationFailed', 'url-invalid', /https URL without a port, at most 200 characters/],
    ['DuplicateUrlFailed', 'duplicate-url', /reuse it/],
    ['WebhookLimitExceeded', 'webhook-limit', /GET \/2\/webhooks/],
    ['WebhookIdInvalid', 'webhook-id-invalid', /register it again/],
    ['SubscriptionLimitExceeded', 'subscription-limit', /3 Account Activity subscriptions/],
  ];
  for (const [reason, kind, hint] of cases) {
    it(`${reason} → ${kind}, one line with the fix`, () => {
      const e = xErrorFromResponse(hookCall, 400, generic(reason));
      expect(e.kind).toBe(kind);
      expect(e.message).toContain(`(HTTP 400, ${reason})`);
      oneLine(e.message);
      expect(e.hint).toMatch(hint);
    });
  }

  it('DuplicateSubscriptionFailed and SubscriptionNotFound carry their own kinds (callers treat them as done)', () => {
    expect(xErrorFromResponse(hookCall, 409, generic('DuplicateSubscriptionFailed')).kind).toBe('duplicate-subscription');
    expect(xErrorFromResponse(hookCall, 404, generic('SubscriptionNotFound')).kind).toBe('subscription-not-found');
    expect(X_REASONS).toHaveLength(8);
  });

  it('402 and a negative balance: credits depleted; client-not-enrolled: the pay-per-use package and Production', () => {
    const credits = xErrorFromResponse(userCall, 402, { title: 'CreditsDepleted', detail: 'Your enrolled account does not have any credits.', type: 'https://api.twitter.com/2/problems/credits' });
    expect(credits.kind).toBe('credits-depleted');
    expect(credits.hint).toContain('Billing');
    const enrolled = xErrorFromResponse(hookCall, 403, {
      client_id: '123',
      detail: 'When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.',
      reason: 'client-not-enrolled',
      title: 'Client Forbidden',
      type: 'https://api.twitter.com/2/problems/client-forbidden',
    });
    expect(enrolled.kind).toBe('client-not-enrolled');
    expect(enrolled.hint).toMatch(/pay-per-use package and its Production environment/);
  });

  it('401/403 with a missing scope names the scope and the authorize command', () => {
    const e = xErrorFromResponse(userCall, 403, { title: 'Forbidden', detail: 'Missing required OAuth 2.0 scope(s): dm.write', type: 'https://api.twitter.com/2/problems/client-forbidden' });
    expect(e.kind).toBe('missing-scope');
    expect(e.message).toContain('lacks the scope dm.write');
    expect(e.hint).toBe('authorize again to grant dm.read dm.write tweet.read users.read offline.access: omni interaction authorize 4');
  });

  it('unsupported authentication, a refused user token, a refused app, 429 with reset, 5xx', () => {
    const unsupported = xErrorFromResponse(hookCall, 403, {
      title: 'Unsupported Authentication',
      detail: 'Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 2.0 User Context].',
      type: 'https://api.twitter.com/2/problems/unsupported-authentication',
      status: 403,
    });
    expect(unsupported.kind).toBe('unsupported-auth');
    expect(unsupported.hint).toContain('omni interaction authorize 4');
    expect(xErrorFromResponse(userCall, 401, { title: 'Unauthorized', detail: 'Unauthorized', status: 401 })).toMatchObject({ kind: 'credentials', hint: 'authorize the account again: omni interaction authorize 4' });
    expect(xErrorFromResponse(hookCall, 401, { title: 'Unauthorized' }).kind).toBe('app-credentials');
    const now = new Date('2026-12-01T10:00:00Z');
    const limited = xErrorFromResponse(userCall, 429, { title: 'Too Many Requests' }, { 'x-rate-limit-reset': String(now.getTime() / 1000 + 600) }, now);
    expect(limited.kind).toBe('rate-limited');
    expect(limited.resetAt?.toISOString()).toBe('2026-12-01T10:10:00.000Z');
    expect(limited.message).toContain('until 10:10:00 UTC (in 10 min)');
    expect(xErrorFromResponse(userCall, 503, 'Service Unavailable').kind).toBe('unavailable');
    expect(xErrorFromResponse(userCall, 400, { code: 214, message: 'something odd' }).message).toBe('X refused to send a direct message (HTTP 400): something odd');
  });

  it('OAuth token endpoint: a refused refresh token is a lost authorization; a refused code says why codes fail', () => {
    const call: TwitterCall = { method: 'POST', url: 'https://api.x.com/2/oauth2/token', auth: 'oauth2', what: 'refresh', authorizeCommand: 'omni interaction authorize 4', editCommand: 'omni interaction edit 4' };
    const lost = oauthTokenError(call, 'refresh_token', 400, { error: 'invalid_request', error_description: 'Value passed for the token was invalid.' });
    expect(lost).toMatchObject({ kind: 'authorization-lost', hint: 'authorize the account again: omni interaction authorize 4' });
    expect(lost.message).toBe('X refused the refresh token: the authorization is lost (HTTP 400, invalid_request): Value passed for the token was invalid.');
    const code = oauthTokenError(call, 'authorization_code', 400, { error: 'invalid_request', error_description: 'Value passed for the authorization code was invalid.' });
    expect(code.kind).toBe('oauth');
    expect(code.hint).toContain('within 30 s');
    const client = oauthTokenError(call, 'refresh_token', 401, { error: 'unauthorized_client', error_description: 'Missing valid authorization header' });
    expect(client.kind).toBe('app-credentials');
    expect(client.hint).toContain('omni interaction edit 4');
    expect(oauthTokenError(call, 'refresh_token', 502, '').kind).toBe('unavailable');
  });
});
