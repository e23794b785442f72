// The judgement of one interaction's health from what was recorded (src/health/model.ts), pure.
import { describe, expect, it } from 'vitest';
import { assessHealth, formatSeconds, type HealthInput } from '../../src/health/model.js';

const NOW = new Date('2026-12-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

function input(over: Partial<HealthInput> = {}, row: Partial<HealthInput['interaction']> = {}): HealthInput {
  return {
    interaction: { id: 3, name: 'Support', api: 'activity', created_at: ago(86_400_000), webhook_id: '99', webhook_valid: 1, webhook_checked_at: ago(60_000), webhook_last_error: null, silence_alert_seconds: null, ...row },
    token: { expires_at: new Date(NOW.getTime() + 3_600_000).toISOString(), refreshed_at: ago(3_600_000), lost_at: null, lost_reason: null },
    health: undefined,
    lastCrcAt: ago(600_000),
    inbound: { last: ago(60_000), today: 4 },
    outbox: undefined,
    rejected: undefined,
    ...over,
  };
}

describe('assessHealth', () => {
  it('is healthy with everything in order, and reports the facts status shows', () => {
    const h = assessHealth(input(), NOW);
    expect(h).toMatchObject({ healthy: true, problems: [], authorization: { state: 'ok', expiresInSeconds: 3600 }, webhook: { state: 'valid', lastCrcAt: ago(600_000) }, subscriptions: { state: 'unknown' }, dmsToday: 4 });
  });

  it('names each unhealthy state with its fix', () => {
    const lost = assessHealth(input({ token: { expires_at: null, refreshed_at: null, lost_at: ago(1000), lost_reason: 'invalid_grant' } }), NOW);
    expect(lost.problems).toEqual([{ state: 'authorization-lost', since: ago(1000), text: expect.stringContaining('omni interaction authorize 3') }]);
    const credits = assessHealth(input({ health: { ...blankHealth(), x_error_kind: 'credits-depleted', x_error_status: 402, x_error_message: 'X refused', x_error_at: ago(5000) } }), NOW);
    expect(credits.problems.map((p) => [p.state, p.since])).toEqual([['credits-depleted', ago(5000)]]);
    const enrolled = assessHealth(input({ health: { ...blankHealth(), x_error_kind: 'client-not-enrolled', x_error_status: 403, x_error_message: 'X refused', x_error_at: ago(5000) } }), NOW);
    expect(enrolled.problems.map((p) => p.state)).toEqual(['app-not-enrolled']);
    const invalid = assessHealth(input({}, { webhook_valid: 0, webhook_last_error: 'CRC failed' }), NOW);
    expect(invalid.problems).toEqual([expect.objectContaining({ state: 'webhook-invalid', text: expect.stringContaining('omni webhook check 3') })]);
    const missing = assessHealth(input({ health: { ...blankHealth(), subscriptions_missing: '["dm.received of user 1"]', subscriptions_checked_at: ago(1000) } }), NOW);
    expect(missing.problems).toEqual([expect.objectContaining({ state: 'subscription-missing', text: expect.stringContaining('dm.received of user 1') })]);
    const stuck = assessHealth(input({ outbox: { backlog: 2, oldest: ago(11 * 60_000), failed: 0 } }), NOW);
    expect(stuck.problems.map((p) => [p.state, p.since])).toEqual([['outbox-stuck', ago(11 * 60_000)]]);
    expect(assessHealth(input({ outbox: { backlog: 2, oldest: ago(9 * 60_000), failed: 0 } }), NOW).healthy).toBe(true);
  });

  it('a rate limit is shown until it lifts but is not unhealthy', () => {
    const until = new Date(NOW.getTime() + 60_000).toISOString();
    expect(assessHealth(input({ health: { ...blankHealth(), rate_limited_until: until } }), NOW)).toMatchObject({ healthy: true, rateLimitedUntil: until });
    expect(assessHealth(input({ health: { ...blankHealth(), rate_limited_until: ago(1) } }), NOW).rateLimitedUntil).toBeNull();
  });

  it('silence: only past the alert, only while all else is healthy, counted from creation when nothing ever arrived', () => {
    const row = { silence_alert_seconds: 6 * 3600 };
    expect(assessHealth(input({ inbound: { last: ago(5 * 3_600_000), today: 0 } }, row), NOW).healthy).toBe(true);
    const silent = assessHealth(input({ inbound: { last: ago(7 * 3_600_000), today: 0 } }, row), NOW);
    expect(silent.problems).toEqual([{ state: 'silence', since: ago(7 * 3_600_000), text: expect.stringMatching(/^silent for 7h: no DM received since/) }]);
    expect(silent.silence).toEqual({ alertSeconds: 21_600, silentForSeconds: 25_200 });
    const never = assessHealth(input({ inbound: undefined }, { ...row, created_at: ago(8 * 3_600_000) }), NOW);
    expect(never.problems[0]).toMatchObject({ state: 'silence', since: ago(8 * 3_600_000) });
    // The cause is named instead: no silence on top of a lost authorization.
    const both = assessHealth(input({ inbound: undefined, token: { expires_at: null, refreshed_at: null, lost_at: ago(1), lost_reason: null } }, { ...row, created_at: ago(8 * 3_600_000) }), NOW);
    expect(both.problems.map((p) => p.state)).toEqual(['authorization-lost']);
  });

  it('formats durations as people say them', () => {
    expect([30, 600, 25_200, 27_000, 90_000, 172_800].map(formatSeconds)).toEqual(['30s', '10m', '7h', '7h 30m', '1d 1h', '2d']);
  });
});

function blankHealth(): NonNullable<HealthInput['health']> {
  return { subscriptions_missing: null, subscriptions_checked_at: null, stream_connected_since: null, x_error_kind: null, x_error_status: null, x_error_message: null, x_error_at: null, rate_limited_until: null, last_reconcile_at: null, last_reconcile_found: null };
}
