// The small pieces behind /metrics, the webhook journal and the watchdog flags, without HTTP.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Registry } from '../../src/listener/prometheus.js';
import { createEventJournal } from '../../src/listener/event-journal.js';
import { parseDuration } from '../../src/cli/flags.js';
import { openDatabase } from '../../src/db/connection.js';
import { createWebhookEventWriter, type NewWebhookEvent } from '../../src/db/webhook-events.js';
import { assessWebhookHealth, formatAge, webhookHealth } from '../../src/webhooks/health.js';
import { crcTokenRefusal } from '../../src/twitter/crc.js';
import { UsageError } from '../../src/errors.js';
import { seedInteraction } from '../support/seed.js';
import { tempDir } from '../support/tmp.js';

describe('Prometheus text format', () => {
  it('renders counters with escaped labels, cumulative histograms, and skips a gauge whose source fails', () => {
    const reg = new Registry();
    const c = reg.add(new Counter('x_total', 'Things.\nSecond line \\ backslash.', [{ reason: 'a' }]));
    c.inc({ reason: 'b"q\\\n' }, 2);
    const h = reg.add(new Histogram('lat_seconds', 'Latency.', [0.1, 1]));
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
    reg.add(new Gauge('broken', 'Fails.', () => { throw new Error('db down'); }));
    reg.add(new Gauge('empty', 'Unknown.', () => []));
    expect(reg.render()).toBe(
      [
        '# HELP x_total Things.\\nSecond line \\\\ backslash.',
        '# TYPE x_total counter',
        'x_total{reason="a"} 0',
        'x_total{reason="b\\"q\\\\\\n"} 2',
        '# HELP lat_seconds Latency.',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{le="0.1"} 2',
        'lat_seconds_bucket{le="1"} 3',
        'lat_seconds_bucket{le="+Inf"} 4',
        'lat_seconds_sum 3.65',
        'lat_seconds_count 4',
        '',
      ].join('\n'),
    );
  });
});

describe('crc_token shape', () => {
  it('accepts base64, base64url and uuids up to 256 characters, nothing else', () => {
    for (const ok of ['some_random', 'test', 'ODAxMjE4OTEtYjQwYy00ZDEzLTk4ZGYtYzY2YzExNzA2YWQ1', 'a+b/c==', '9b4507b3-9040-4669-9ca3-6b94edb50553', 'x'.repeat(256)]) {
      expect(crcTokenRefusal(ok), ok).toBeUndefined();
    }
    expect(crcTokenRefusal(null)?.reason).toBe('missing_token');
    expect(crcTokenRefusal('abc')?.reason).toBe('token_too_short');
    expect(crcTokenRefusal('x'.repeat(257))?.reason).toBe('token_too_long');
    expect(crcTokenRefusal('{"a":"b"}')?.reason).toBe('token_bad_characters');
    expect(crcTokenRefusal('abc def')?.reason).toBe('token_bad_characters');
  });
});

describe('parseDuration', () => {
  const b = { minMs: 1_000, maxMs: 86_400_000 };
  it('reads s, m, h and ms', () => {
    expect(parseDuration('30s', '--x', b)).toBe(30_000);
    expect(parseDuration('10m', '--x', b)).toBe(600_000);
    expect(parseDuration('1h', '--x', b)).toBe(3_600_000);
    expect(parseDuration('1500ms', '--x', b)).toBe(1_500);
  });
  it('refuses other shapes and out-of-bounds values with the flag and an example', () => {
    expect(() => parseDuration('10', '--watchdog-interval', b)).toThrow("--watchdog-interval must be a duration like 30s, 10m or 1h, not '10'");
    expect(() => parseDuration('1.5m', '--watchdog-interval', b)).toThrow(UsageError);
    expect(() => parseDuration('500ms', '--watchdog-interval', b)).toThrow('--watchdog-interval must be between 1s and 24h, not 500ms');
    expect(() => parseDuration('25h', '--watchdog-interval', b)).toThrow('between 1s and 24h');
  });
});

describe('webhook journal', () => {
  it('keeps the newest rows per interaction and kind, so refused CRCs cannot push out the answered ones', async () => {
    const dbPath = path.join(tempDir(), 'omni.db');
    const { id } = await seedInteraction(dbPath);
    const db = await openDatabase(dbPath);
    try {
      const write = createWebhookEventWriter(db.sqlite, 3);
      const ev = (kind: NewWebhookEvent['kind'], n: number): NewWebhookEvent => ({ interactionId: id, at: `2026-01-01T00:00:0${n}.000Z`, kind, result: kind === 'crc_answered' ? 'answered' : 'x' });
      write([1, 2].map((n) => ev('crc_answered', n)));
      write([1, 2, 3, 4, 5, 6, 7].map((n) => ev('crc_refused', n)));
      write([3, 4].map((n) => ev('crc_answered', n)));
      const rows = db.sqlite.prepare('SELECT kind, at FROM webhook_events ORDER BY id').all() as Array<{ kind: string; at: string }>;
      expect(rows.filter((r) => r.kind === 'crc_answered').map((r) => r.at.slice(18, 19))).toEqual(['2', '3', '4']);
      expect(rows.filter((r) => r.kind === 'crc_refused').map((r) => r.at.slice(18, 19))).toEqual(['5', '6', '7']);
      const health = await webhookHealth(db.kysely, { id, webhook_id: 'w1' }, new Date('2026-01-01T00:30:00Z'));
      expect(health.lastCrc).toEqual({ at: '2026-01-01T00:00:04.000Z', remote: null });
      expect(health.crcStale).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('buffers records, writes them in one batch, keeps them when the write fails, and drops past its bound', () => {
    const batches: number[] = [];
    let fail = false;
    let dropped = 0;
    const errors: unknown[] = [];
    const j = createEventJournal({
      write: (events) => {
        if (fail) throw Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' });
        batches.push(events.length);
      },
      onError: (e) => errors.push(e),
      onDropped: (n) => (dropped += n),
      intervalMs: 60_000,
      maxBuffered: 3,
    });
    const e = { interactionId: 1, at: 'x', kind: 'crc_answered' as const, result: 'answered' };
    j.record(e);
    j.record(e);
    expect(batches).toEqual([]);
    fail = true;
    j.flush();
    expect(errors).toHaveLength(1);
    j.record(e);
    j.record(e); // 4th: over the bound
    expect(dropped).toBe(1);
    fail = false;
    // An urgent record (the watchdog's) on a full buffer: what is queued is written first, then it.
    j.record(e, { flush: true });
    expect(batches).toEqual([3, 1]);
    expect(dropped).toBe(1);
    j.close();
    j.record(e);
    expect(batches).toEqual([3, 1, 1]);
  });
});

describe('webhook health', () => {
  const now = new Date('2026-05-01T12:00:00Z');
  const event = (kind: 'crc_answered' | 'watchdog', at: string, result = 'answered', detail: string | null = null) => ({ id: 1, interaction_id: 3, at, kind, result, detail, remote: null });
  it('warns when a registered webhook has had no CRC for over 2 h, or never, and not when it is fresh or unregistered', () => {
    const fresh = assessWebhookHealth({ id: 3, webhook_id: 'w' }, { crc: event('crc_answered', '2026-05-01T11:10:00Z'), refused: undefined, watchdog: undefined }, now);
    expect(fresh).toMatchObject({ crcStale: false, crcAgeMs: 50 * 60_000, warnings: [] });
    const stale = assessWebhookHealth({ id: 3, webhook_id: 'w' }, { crc: event('crc_answered', '2026-05-01T09:00:00Z'), refused: undefined, watchdog: undefined }, now);
    expect(stale.crcStale).toBe(true);
    expect(stale.warnings).toEqual([expect.stringContaining('no CRC from Twitter for 3 h (more than 2 h; Twitter re-validates about hourly)')]);
    expect(stale.warnings[0]).toContain('omni webhook check 3');
    const never = assessWebhookHealth({ id: 3, webhook_id: 'w' }, { crc: undefined, refused: undefined, watchdog: undefined }, now);
    expect(never.warnings).toEqual([expect.stringContaining('no CRC from Twitter has been recorded')]);
    const unregistered = assessWebhookHealth({ id: 3, webhook_id: null }, { crc: undefined, refused: undefined, watchdog: undefined }, now);
    expect(unregistered).toMatchObject({ registered: false, crcStale: false, warnings: [] });
  });

  it("reports the watchdog's last check and warns when it did not end valid", () => {
    const bad = assessWebhookHealth(
      { id: 3, webhook_id: 'w' },
      { crc: event('crc_answered', '2026-05-01T11:59:00Z'), refused: undefined, watchdog: event('watchdog', '2026-05-01T11:58:00Z', 'invalid', "Twitter's CRC check failed") },
      now,
    );
    expect(bad.lastWatchdogCheck).toEqual({ at: '2026-05-01T11:58:00Z', result: 'invalid', detail: "Twitter's CRC check failed" });
    expect(bad.warnings).toEqual(["the watchdog's last check (2026-05-01T11:58:00Z) found: invalid: Twitter's CRC check failed"]);
  });

  it('formats ages for people', () => {
    expect([formatAge(45_000), formatAge(12 * 60_000), formatAge(185 * 60_000), formatAge(52 * 3_600_000)]).toEqual(['45 s', '12 min', '3 h 5 min', '2 d 4 h']);
  });
});
