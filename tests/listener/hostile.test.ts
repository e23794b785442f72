// The listener against a hostile Internet, in-process over real HTTP on 127.0.0.0/8 (each loopback
// address a different client): one address cannot take the connections, the unverified bodies or
// the writer away from the others; forged X-Forwarded-For is not believed; a delivery cannot
// amplify itself into a huge answer; a malformed for_user_id is refused.
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListenerLimits } from '../../src/listener/limits.js';
import { errorFromWire, errorToWire, isPoison, startWorkerWriter } from '../../src/listener/intake-writer.js';
import { refusalOf } from '../../src/listener/refusal.js';
import { MAX_EXPANDED_TEXT, parseDelivery } from '../../src/intake/parse.js';
import { engineIntakeHarness, sampleInteraction, TEST_TOMBSTONE_KEY, writerFor } from '../support/intake.js';
import { TEST_ENGINE } from '../support/engine.js';
import { clientAddress, defaultTrustedProxies, normalizeIp, parseTrustedProxies } from '../../src/listener/client-address.js';
import { crcResponseToken, SIGNATURE_HEADER } from '../../src/twitter/signature.js';
import { startInProcessListener, type InProcessListener } from '../support/in-process-listener.js';
import { ACCOUNT_ID, dmDeliveryBody, FIXTURE_SECRET, getJson, inboundDm, newEventId, postDelivery } from '../support/deliveries.js';
import { ROOT, runCli } from '../support/cli.js';

const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const start = (limits: Partial<ListenerLimits> = {}) => startInProcessListener({ limits });
/** A listener reached directly (no proxy): every loopback address is a client of its own. */
const direct = (limits: Partial<ListenerLimits>) => startInProcessListener({ limits, trustedProxies: parseTrustedProxies('none') });

/** One sample of /metrics, asked from 127.0.0.9 (an address no test floods). */
async function metric(url: string, series: string): Promise<number | undefined> {
  const text = String((await getJson(`${url}/metrics`, '127.0.0.9')).body);
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A connection from `localAddress` that has sent `head` (maybe nothing) and then waits; resolves once connected. */
function openFrom(port: number, localAddress: string, head = ''): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
      if (head) s.write(head);
      resolve(s);
    });
    s.on('error', () => resolve(s));
    sockets.push(s);
  });
}

/** What the server sent before closing the connection, and how long that took. */
function whenClosed(s: net.Socket): Promise<{ ms: number; received: string }> {
  const started = Date.now();
  let received = '';
  s.on('data', (d) => (received += d.toString('latin1')));
  return new Promise((resolve) => (s.destroyed ? resolve({ ms: 0, received }) : s.on('close', () => resolve({ ms: Date.now() - started, received }))));
}

const crcFrom = (r: InProcessListener, localAddress: string) => getJson(`${r.listener.url}/webhooks/twitter/${r.id}?crc_token=abcd1234`, localAddress);

/** The head of a signed-looking POST whose body is `length` bytes (the signature is checked only once it has arrived). */
const postHead = (id: number, length: number) =>
  `POST /webhooks/twitter/${id} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${SIGNATURE_HEADER}: sha256=AAAA\r\ncontent-length: ${length}\r\n\r\n`;

describe('connections: one address cannot starve the others (issue 14, item 8)', () => {
  it('caps the connections of one address; /healthz, CRC and deliveries from other addresses are answered', async () => {
    const r = await direct({ maxConnections: 16, maxConnectionsPerIp: 4 });
    // The attack, scaled down: many idle sockets from one address, more than the global cap.
    await Promise.all(Array.from({ length: 40 }, () => openFrom(r.listener.port, '127.0.0.1')));
    await sleep(100);
    expect((await getJson(`${r.listener.url}/healthz`, '127.0.0.2')).status).toBe(200);
    expect(await crcFrom(r, '127.0.0.2')).toEqual({ status: 200, body: { response_token: crcResponseToken(FIXTURE_SECRET, 'abcd1234') } });
    const posted = await postDelivery(r.listener.url, r.id, inboundDm({ senderId: '5', text: 'still served' }), { localAddress: '127.0.0.3' });
    expect(posted.status).toBe(200);
    // The flooding address itself: a clear 503 for the few over its cap, the rest closed at once.
    const own = await openFrom(r.listener.port, '127.0.0.1', 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    expect((await whenClosed(own)).received).not.toMatch(/ 200 /);
    expect(await metric(r.listener.url, 'omni_http_rejected_total{reason="too_many_connections_per_ip"}')).toBeGreaterThanOrEqual(32);
    expect(await metric(r.listener.url, 'omni_http_rejected_total{reason="too_many_connections"}')).toBe(0);
  });

  it('past the global cap keeps headroom for /healthz and CRCs, and refuses deliveries with 503', async () => {
    const r = await direct({ maxConnections: 4, maxConnectionsPerIp: 2 });
    // Many addresses, each within its own cap, together over the global one.
    for (let i = 1; i <= 6; i++) await openFrom(r.listener.port, `127.0.1.${i}`);
    await sleep(100);
    expect((await getJson(`${r.listener.url}/healthz`, '127.0.0.2')).status).toBe(200);
    expect((await crcFrom(r, '127.0.0.2')).status).toBe(200);
    const posted = await postDelivery(r.listener.url, r.id, inboundDm({ senderId: '5', text: 'x' }), { localAddress: '127.0.0.3' });
    expect(posted).toMatchObject({ status: 503, body: { error: 'too many connections, retry later' } });
    expect(await r.count('messages')).toBe(0);
  });

  it('a trusted proxy carries many clients: its connections count only toward the global cap', async () => {
    const r = await startInProcessListener({ limits: { maxConnections: 32, maxConnectionsPerIp: 2 }, trustedProxies: parseTrustedProxies('127.0.0.5') });
    for (let i = 0; i < 6; i++) await openFrom(r.listener.port, '127.0.0.5');
    await sleep(50);
    const posted = await postDelivery(r.listener.url, r.id, inboundDm({ senderId: '5', text: 'via the proxy' }), { localAddress: '127.0.0.5' });
    expect(posted.status).toBe(200);
  });
});

describe('unverified bodies: bounded in total and per address (issue 14, item 9)', () => {
  const limits = { maxUnverifiedBytes: 40_000, maxUnverifiedBytesPerIp: 16_000, bodyTimeoutMs: 3_000 };

  it('refuses a Content-Length over the per-address budget with 413 before reading it', async () => {
    const r = await start(limits);
    const s = await openFrom(r.listener.port, '127.0.0.1', postHead(r.id, 20_000));
    const { ms, received } = await whenClosed(s);
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(ms).toBeLessThan(1_000);
  });

  it('answers 503 at once when the address (or everyone) already holds its budget of unverified bytes, and gives it back', async () => {
    const r = await start(limits);
    const url = r.listener.url;
    // 127.0.0.1 holds two half-sent bodies of 8,000 bytes: its whole 16,000.
    await openFrom(r.listener.port, '127.0.0.1', postHead(r.id, 8_000) + 'x'.repeat(100));
    await openFrom(r.listener.port, '127.0.0.1', postHead(r.id, 8_000) + 'x'.repeat(100));
    await sleep(100);
    const third = await openFrom(r.listener.port, '127.0.0.1', postHead(r.id, 8_000));
    const refused = await whenClosed(third);
    expect(refused.received).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused.received).toContain('too many unverified bodies in flight, retry later');
    expect(refused.ms).toBeLessThan(1_000);
    // A chunked body (no Content-Length) is charged as it arrives.
    const chunked = await openFrom(
      r.listener.port,
      '127.0.0.1',
      `POST /webhooks/twitter/${r.id} HTTP/1.1\r\nhost: x\r\n${SIGNATURE_HEADER}: sha256=AAAA\r\ntransfer-encoding: chunked\r\n\r\n1000\r\n${'y'.repeat(4096)}\r\n`,
    );
    expect((await whenClosed(chunked)).received).toMatch(/^HTTP\/1\.1 503 /);
    // Another address is still served; then others fill the global budget (40,000).
    expect((await postDelivery(url, r.id, inboundDm({ senderId: '5', text: 'a' }), { localAddress: '127.0.0.2' })).status).toBe(200);
    await openFrom(r.listener.port, '127.0.0.3', postHead(r.id, 12_000) + 'x');
    await openFrom(r.listener.port, '127.0.0.4', postHead(r.id, 12_000) + 'x');
    await sleep(100);
    expect(await metric(url, 'omni_http_unverified_bytes')).toBe(40_000);
    expect((await postDelivery(url, r.id, inboundDm({ senderId: '6', text: 'b' }), { localAddress: '127.0.0.6' })).status).toBe(503);
    // The holders hang up: their bytes come back and everyone is served again.
    for (const s of sockets.splice(0)) s.destroy();
    await sleep(100);
    expect(await metric(url, 'omni_http_unverified_bytes')).toBe(0);
    expect((await postDelivery(url, r.id, inboundDm({ senderId: '6', text: 'b' }), { localAddress: '127.0.0.1' })).status).toBe(200);
    expect(await metric(url, 'omni_deliveries_rejected_total{reason="unverified_budget"}')).toBe(3);
  });
});

describe('X-Forwarded-For is believed only from trusted proxies (issue 14, item 10)', () => {
  it('takes the right-most untrusted hop, and only a valid IP', () => {
    const loopback = parseTrustedProxies('loopback');
    expect(clientAddress('127.0.0.1', '6.6.6.6, 198.51.100.7', loopback)).toBe('198.51.100.7');
    expect(clientAddress('::ffff:127.0.0.1', '198.51.100.7', loopback)).toBe('198.51.100.7');
    expect(clientAddress('127.0.0.1', '198.51.100.7, 127.0.0.1', loopback)).toBe('198.51.100.7');
    expect(clientAddress('127.0.0.1', 'not-an-ip', loopback)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '6.6.6.6, <script>', loopback)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', ['6.6.6.6', '[2001:db8::1]:443'], loopback)).toBe('2001:db8::1');
    expect(clientAddress('203.0.113.9', '127.0.0.1', loopback)).toBe('203.0.113.9'); // an untrusted peer's header is ignored
    expect(clientAddress('127.0.0.1', '1.1.1.1', parseTrustedProxies('none'))).toBe('127.0.0.1');
    const lan = parseTrustedProxies('10.0.0.0/8, loopback');
    expect(clientAddress('10.1.2.3', '203.0.113.5, 10.9.9.9', lan)).toBe('203.0.113.5');
    expect(defaultTrustedProxies('127.0.0.1').has('127.0.0.1')).toBe(true);
    expect(defaultTrustedProxies('0.0.0.0').none).toBe(true);
    expect(normalizeIp('1.2.3.4:80')).toBe('1.2.3.4');
    for (const bad of ['', 'everyone', '10.0.0.0/33', '1.2.3', 'none,loopback']) expect(() => parseTrustedProxies(bad), bad).toThrow(/is not an IP address/);
  });

  it('logs and records the client behind the local proxy, never a forged left-most entry', async () => {
    const r = await start();
    await getJson(`${r.listener.url}/webhooks/twitter/${r.id}?crc_token=abcd1234`); // no header
    await fetch(`${r.listener.url}/webhooks/twitter/${r.id}?crc_token=abcd1234`, { headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' } });
    await fetch(`${r.listener.url}/webhooks/twitter/${r.id}?crc_token=abcd1234`, { headers: { 'x-forwarded-for': '<script>alert(1)</script>' } });
    await postDelivery(r.listener.url, r.id, '{}', { signature: 'sha256=forged', headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.8' } });
    r.listener.events.flush();
    expect((await r.rows('SELECT remote FROM webhook_events ORDER BY id')).map((e) => e.remote)).toEqual(['127.0.0.1', '198.51.100.7', '127.0.0.1']);
    expect(r.logs.find((l) => l.msg === 'delivery rejected')?.remote).toBe('198.51.100.8');
  });

  it('with no trusted proxy the peer address is the client, whatever the header says', async () => {
    const r = await startInProcessListener({ trustedProxies: parseTrustedProxies('none') });
    await fetch(`${r.listener.url}/webhooks/twitter/${r.id}?crc_token=abcd1234`, { headers: { 'x-forwarded-for': '198.51.100.7' } });
    r.listener.events.flush();
    expect((await r.rows('SELECT remote FROM webhook_events')).map((e) => e.remote)).toEqual(['127.0.0.1']);
  });

  // No database involved: checked once, in the SQLite run.
  it.runIf(TEST_ENGINE === 'sqlite')('omni listen refuses a malformed --trust-proxy or limit, naming it (exit 2)', async () => {
    const bad = await runCli(['listen', '--trust-proxy', 'everyone']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--trust-proxy: 'everyone' is not an IP address");
    const size = await runCli(['listen', '--max-unverified-bytes', 'lots']);
    expect(size.code).toBe(2);
    expect(size.stderr).toContain("--max-unverified-bytes must be a size in bytes of at least 1024, like 2MiB or 512KiB, not 'lots'");
    const env = await runCli(['listen'], { env: { OMNI_MAX_CONNECTIONS_PER_IP: '0' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("OMNI_MAX_CONNECTIONS_PER_IP must be a positive integer, not '0'");
    const help = await runCli(['listen', '--help']);
    for (const flag of ['--max-connections-per-ip', '--max-unverified-bytes', '--max-unverified-bytes-per-ip', '--trust-proxy']) expect(help.stdout).toContain(flag);
  });
});

describe('poison deliveries (issue 14, item 12)', () => {
  /** An expansion bomb: a short "url" found thousands of times in the text, each expanded to 14,000 characters. */
  const bomb = (repeats: number) =>
    JSON.stringify({
      for_user_id: ACCOUNT_ID,
      direct_message_events: [
        {
          type: 'message_create',
          id: newEventId(),
          created_timestamp: '1700000000000',
          message_create: {
            target: { recipient_id: ACCOUNT_ID },
            sender_id: '66',
            message_data: { text: 'https://t.co/a '.repeat(repeats), entities: { urls: [{ url: 'https://t.co/a', expanded_url: `https://example.com/${'p'.repeat(14_000)}` }] } },
          },
        },
      ],
    });
  const workerUrl = pathToFileURL(path.join(ROOT, 'dist', 'intake-worker.js'));
  const innocent = () => inboundDm({ senderId: '5', text: 'innocent' });

  it('t.co links are expanded while the text stays within its bound; past it they are kept as sent', () => {
    const dm = (text: string, urls: Array<{ url: string; expanded_url: string }>) =>
      JSON.stringify({ for_user_id: ACCOUNT_ID, direct_message_events: [{ type: 'message_create', id: '1', message_create: { sender_id: '5', message_data: { text, entities: { urls } } } }] });
    const textOf = (body: string) => (parseDelivery(body).items[0] as { event: { text: string } }).event.text;
    expect(textOf(dm('see https://t.co/a', [{ url: 'https://t.co/a', expanded_url: 'https://example.com/order/1' }]))).toBe('see https://example.com/order/1');
    const long = `https://example.com/${'q'.repeat(MAX_EXPANDED_TEXT)}`;
    expect(textOf(dm('a https://t.co/a b https://t.co/b', [
      { url: 'https://t.co/a', expanded_url: 'https://example.com/short' },
      { url: 'https://t.co/b', expanded_url: long },
    ]))).toBe('a https://example.com/short b https://t.co/b');
  });

  it('an exception before any SQL (a body the writer cannot parse) fails its own job as poison, not its batch', async () => {
    const h = await engineIntakeHarness();
    try {
      const writer = writerFor(h.db, { idleMs: 60_000, tombstoneKey: TEST_TOMBSTONE_KEY });
      const at = new Date().toISOString();
      const [bad, good] = await writer.write([
        { interaction: sampleInteraction(h.interactionId), body: '{"direct_message_events": [', at },
        { interaction: sampleInteraction(h.interactionId), body: inboundDm({ senderId: '5', text: 'innocent' }), at },
      ]);
      expect(bad!.ok).toBe(false);
      const error = (bad as { error: unknown }).error;
      expect(isPoison(error)).toBe(true);
      // Across the thread boundary it is still poison (never 503, never retried by omni), answered as
      // a body that is no JSON is on the main thread: 400.
      expect(refusalOf(errorFromWire(errorToWire(error)))).toMatchObject({ status: 400, code: 'bad_json' });
      expect(good).toMatchObject({ ok: true, value: [{ outcome: 'new_ticket' }] });
      expect(await h.count('messages')).toBe(1);
    } finally {
      await h.close();
    }
  });

  it.runIf(TEST_ENGINE === 'sqlite')('a t.co expansion bomb is stored bounded (links kept), beside an innocent delivery of the same batch, on the writer thread', async () => {
    const r = await startInProcessListener({ writer: (dbPath) => startWorkerWriter({ workerUrl, dbPath, busyTimeoutMs: 500, settings: { idleMs: 60_000, tombstoneKey: TEST_TOMBSTONE_KEY } }) });
    const [a, b] = await Promise.all([postDelivery(r.listener.url, r.id, bomb(3_500)), postDelivery(r.listener.url, r.id, innocent())]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const texts = (await r.rows('SELECT text FROM messages ORDER BY id')).map((m) => m.text as string);
    expect(texts).toContain('innocent');
    const stored = texts.find((t) => t !== 'innocent')!;
    // 3,500 × 14,000 characters would be 49 million: the links stay as sent.
    expect(stored).toBe('https://t.co/a '.repeat(3_500));
  });

  it.runIf(TEST_ENGINE === 'sqlite')('a delivery that kills the writer thread is refused 422 alone (and at once when retried); the others of its batch are stored', async () => {
    // A small heap for the thread: a legitimate-looking 1 MB delivery of thousands of DMs exhausts it.
    const r = await startInProcessListener({ writer: (dbPath) => startWorkerWriter({ workerUrl, dbPath, busyTimeoutMs: 500, settings: { idleMs: 60_000, tombstoneKey: TEST_TOMBSTONE_KEY }, maxHeapMb: 8 }) });
    const heavy = dmDeliveryBody({
      forUserId: ACCOUNT_ID,
      events: Array.from({ length: 3_700 }, () => ({ senderId: '42', recipientId: ACCOUNT_ID, text: 'x'.repeat(20), eventId: newEventId() })),
    });
    expect(heavy.length).toBeLessThan(1024 * 1024);
    const [bad, good] = await Promise.all([postDelivery(r.listener.url, r.id, heavy), postDelivery(r.listener.url, r.id, innocent())]);
    expect(good.status).toBe(200);
    expect(bad).toMatchObject({ status: 422, body: { error: 'this delivery cannot be processed and will be refused again' } });
    expect((await r.rows('SELECT text FROM messages')).map((m) => m.text)).toEqual(['innocent']);
    const started = performance.now();
    expect((await postDelivery(r.listener.url, r.id, heavy)).status).toBe(422); // Twitter's retry
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await metric(r.listener.url, 'omni_deliveries_rejected_total{reason="poison"}')).toBe(2);
    expect((await postDelivery(r.listener.url, r.id, inboundDm({ senderId: '5', text: 'after' }))).status).toBe(200); // the thread is back
  });
});

describe('amplification (issue 14, item 13)', () => {
  it('a delivery of 200,000 non-events gets a small answer and log line: the first results and counts', async () => {
    const r = await start();
    const body = `{"for_user_id":"${ACCOUNT_ID}","direct_message_indicate_typing_events":[${Array(200_000).fill('0').join(',')}]}`;
    expect(body.length).toBeGreaterThan(390_000);
    const res = await postDelivery(r.listener.url, r.id, body);
    expect(res.status).toBe(200);
    expect(res.text.length).toBeLessThan(5_000);
    expect(res.body.results).toHaveLength(20);
    expect(res.body.more).toEqual({ count: 199_980, outcomes: { ignored: 199_980 } });
    const line = r.logs.find((l) => l.msg === 'delivery')!;
    expect(JSON.stringify(line).length).toBeLessThan(5_000);
    expect(line.more).toEqual({ count: 199_980, outcomes: { ignored: 199_980 } });
    // A revocation past the first results is still listed (the log shouts about it).
    const revoking = `{"for_user_id":"${ACCOUNT_ID}","direct_message_indicate_typing_events":[${Array(30).fill('0').join(',')}],"user_event":{"revoke":{"date_time":"2026-01-01T00:00:00Z","source":{"user_id":"${ACCOUNT_ID}"}}}}`;
    const revoked = await postDelivery(r.listener.url, r.id, revoking);
    expect(revoked.body.results.at(-1)).toMatchObject({ event: 'revoke', outcome: 'revoked' });
    expect(revoked.body.more).toEqual({ count: 10, outcomes: { ignored: 10 } });
    // A small delivery is answered as before: every result, no "more".
    const small = await postDelivery(r.listener.url, r.id, inboundDm({ senderId: '5', text: 'hi' }));
    expect(Object.keys(small.body)).toEqual(['results']);
  });
});

describe('a malformed for_user_id (issue 14, item 14)', () => {
  it('is refused 400, as a well-formed other account is refused 403; nothing is stored', async () => {
    const r = await start();
    const dm = (forUserId: unknown) => JSON.stringify({ ...JSON.parse(inboundDm({ senderId: '5', text: 'x' })), for_user_id: forUserId });
    for (const value of ['abc', ['222'], null, '', { id: '123' }]) {
      const res = await postDelivery(r.listener.url, r.id, dm(value));
      expect(res.status, JSON.stringify(value)).toBe(400);
      expect(res.body.error).toMatch(/^for_user_id .* is not a Twitter user id$/);
    }
    expect((await postDelivery(r.listener.url, r.id, dm('222'))).status).toBe(403);
    const xActivity = JSON.stringify({ data: { event_type: 'dm.received', filter: { user_id: ['123'] }, payload: { direct_message_events: [] } } });
    expect(await postDelivery(r.listener.url, r.id, xActivity)).toMatchObject({ status: 400, body: { error: 'filter.user_id ["123"] is not a Twitter user id' } });
    expect(await r.count('messages')).toBe(0);
    expect(await metric(r.listener.url, 'omni_deliveries_rejected_total{reason="bad_for_user_id"}')).toBe(6);
  });

  it('is refused even when the interaction has no known account yet', async () => {
    const r = await startInProcessListener({ seed: { accountUserId: null } });
    const res = await postDelivery(r.listener.url, r.id, JSON.stringify({ for_user_id: 'abc', direct_message_events: [] }));
    expect(res.status).toBe(400);
  });
});
