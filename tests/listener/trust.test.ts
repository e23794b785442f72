// The listener against hostile and careless clients, in-process over real HTTP: the CRC endpoint is
// no signing oracle, slow headers and bodies are cut off, connections are capped, and /metrics
// counts all of it.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListenerLimits } from '../../src/listener/limits.js';
import { startInProcessListener, type InProcessListener } from '../support/in-process-listener.js';
import { getJson, inboundDm, postDelivery } from '../support/deliveries.js';
import { crcResponseToken, signBody, SIGNATURE_HEADER } from '../../src/twitter/signature.js';

const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

const start = (limits: Partial<ListenerLimits> = {}) => startInProcessListener({ limits });

async function metricsText(url: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${url}/metrics`);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** The value of one sample line, e.g. sample(text, 'omni_crc_refused_total{reason="missing_token"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const crc = (r: InProcessListener, token: string) => getJson(`${r.listener.url}/webhooks/twitter/${r.id}?crc_token=${encodeURIComponent(token)}`);

/** A raw connection that has sent `head` and then waits. */
function openRaw(port: number, head: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(head);
      resolve(s);
    });
    s.on('error', () => undefined);
    s.once('error', reject);
    sockets.push(s);
  });
}

/** Resolves with what the server sent and how long the connection stayed open. */
function whenClosed(s: net.Socket): Promise<{ ms: number; received: string }> {
  const started = Date.now();
  let received = '';
  s.on('data', (d) => (received += d.toString('latin1')));
  return new Promise((resolve) => s.on('close', () => resolve({ ms: Date.now() - started, received })));
}

describe('CRC: no signing oracle', () => {
  it('answers the known vector and real-looking tokens, refuses a forged JSON body, and the forgery then fails', async () => {
    const r = await start();
    expect(await crc(r, 'some_random')).toEqual({ status: 200, body: { response_token: 'sha256=VE19eUk6krbdSqWPdvH71xtFhApBAU81uPW3UT65vOs=' } });
    for (const token of [crypto.randomBytes(32).toString('base64url'), crypto.randomBytes(33).toString('base64'), crypto.randomUUID(), 'test']) {
      expect(await crc(r, token), token).toEqual({ status: 200, body: { response_token: crcResponseToken('DDD', token) } });
    }

    // The attack: obtain the MAC of a body of one's choosing through the CRC, then POST that body.
    const forged = inboundDm({ senderId: '666', text: 'please wire the money' });
    const answer = await crc(r, forged);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).not.toContain('sha256=');
    expect(answer.body).toEqual({ error: 'crc_token longer than 256 characters' });
    // A short body fits the length bound but not the alphabet: no JSON object can be spelled in it.
    const small = await crc(r, '{"for_user_id":"123"}');
    expect(small).toEqual({ status: 400, body: { error: 'crc_token may only hold letters, digits and - _ = + /' } });
    const posted = await postDelivery(r.listener.url, r.id, forged, { signature: crcResponseToken('guessed', forged) });
    expect(posted.status).toBe(401);
    expect(await r.rows('SELECT id FROM messages')).toEqual([]);
  });

  it('refuses empty, short, long and out-of-alphabet tokens with 400, logging the remote address', async () => {
    const r = await start();
    const refused = {
      missing_token: [''],
      token_too_short: ['abc'],
      token_too_long: ['a'.repeat(257)],
      token_bad_characters: ['has space', 'dot.dot', 'é-accent', '{"a":1}', 'line\nbreak'],
    };
    for (const [reason, tokens] of Object.entries(refused)) {
      for (const t of tokens) {
        const res = await crc(r, t);
        expect(res.status, `${reason}: ${JSON.stringify(t)}`).toBe(400);
        expect(res.body.response_token).toBeUndefined();
      }
    }
    expect((await getJson(`${r.listener.url}/webhooks/twitter/${r.id}`)).status).toBe(400);
    expect((await crc(r, 'a'.repeat(256))).status).toBe(200);

    const logged = r.logs.filter((l) => l.msg === 'crc refused');
    expect(logged).toHaveLength(9);
    expect(logged.every((l) => l.remote === '127.0.0.1' && l.status === 400 && l.interaction === r.id)).toBe(true);

    const { text } = await metricsText(r.listener.url);
    expect(sample(text, 'omni_crc_refused_total{reason="missing_token"}')).toBe(2);
    expect(sample(text, 'omni_crc_refused_total{reason="token_too_short"}')).toBe(1);
    expect(sample(text, 'omni_crc_refused_total{reason="token_too_long"}')).toBe(1);
    expect(sample(text, 'omni_crc_refused_total{reason="token_bad_characters"}')).toBe(5);
    expect(sample(text, 'omni_crc_answered_total')).toBe(1);
  });

  it('records each CRC of a known interaction after answering, with the remote address; unknown ids are not recorded', async () => {
    const r = await start();
    await crc(r, 'some_random');
    await crc(r, 'bad token');
    await getJson(`${r.listener.url}/webhooks/twitter/99?crc_token=some_random`);
    await fetch(`${r.listener.url}/webhooks/twitter/${r.id}?crc_token=fwd_token`, { headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' } });
    r.listener.events.flush();
    expect(await r.rows('SELECT interaction_id, kind, result, remote FROM webhook_events ORDER BY id')).toEqual([
      { interaction_id: r.id, kind: 'crc_answered', result: 'answered', remote: '127.0.0.1' },
      { interaction_id: r.id, kind: 'crc_refused', result: 'token_bad_characters', remote: '127.0.0.1' },
      // From the local proxy (trusted by default on a loopback listener): the right-most hop it
      // reports, not the left-most entry, which any client can write.
      { interaction_id: r.id, kind: 'crc_answered', result: 'answered', remote: '10.0.0.1' },
    ]);
    const { text } = await metricsText(r.listener.url);
    expect(sample(text, 'omni_crc_refused_total{reason="unknown_interaction"}')).toBe(1);
  });
});

describe('slow and abusive clients', () => {
  it('cuts off a body trickling one byte a second at the body deadline, with 408', async () => {
    const r = await start({ bodyTimeoutMs: 1_000 });
    const body = Buffer.from(inboundDm({ senderId: '7', text: 'slow' }));
    const s = await openRaw(
      r.listener.port,
      `POST /webhooks/twitter/${r.id} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${SIGNATURE_HEADER}: ${signBody('DDD', body)}\r\n\r\n`,
    );
    const closed = whenClosed(s);
    let i = 0;
    const drip = setInterval(() => (s.writable ? s.write(body.subarray(i, ++i)) : undefined), 1_000);
    const { ms, received } = await closed;
    clearInterval(drip);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeLessThan(4_000);
    expect(await r.rows('SELECT id FROM messages')).toEqual([]);
    const { text } = await metricsText(r.listener.url);
    expect(sample(text, 'omni_deliveries_rejected_total{reason="body_timeout"}')).toBe(1);
  });

  it('closes a connection whose headers trickle in past the headers deadline', async () => {
    const r = await start({ headersTimeoutMs: 400 });
    const s = await openRaw(r.listener.port, 'POST /webhooks/twitter/1 HTTP/1.1\r\n');
    const closed = whenClosed(s);
    const drip = setInterval(() => (s.writable ? s.write('x') : undefined), 100);
    const { ms, received } = await closed;
    clearInterval(drip);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeLessThan(3_000);
    const { text } = await metricsText(r.listener.url);
    expect(sample(text, 'omni_http_rejected_total{reason="request_timeout"}')).toBe(1);
  });

  it('answers 503 past the connection cap (but /healthz still 200), and serves again once connections close', async () => {
    const r = await start({ maxConnections: 2 });
    const held = [await openRaw(r.listener.port, 'GET /healthz HTTP/1.1\r\n'), await openRaw(r.listener.port, 'GET /healthz HTTP/1.1\r\n')];
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the server count them
    expect((await getJson(`${r.listener.url}/healthz`)).status).toBe(200); // the headroom of priority requests
    const over = await new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
      http
        .get(`${r.listener.url}/metrics`, { agent: false }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body }));
        })
        .on('error', reject);
    });
    expect(over).toEqual({ status: 503, retryAfter: '1', body: JSON.stringify({ error: 'too many connections, retry later' }) });
    for (const s of held) s.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await getJson(`${r.listener.url}/healthz`)).status).toBe(200);
    const { text } = await metricsText(r.listener.url);
    expect(sample(text, 'omni_http_rejected_total{reason="too_many_connections"}')).toBe(1);
  });

  it('refuses an unsigned delivery without reading its body', async () => {
    const r = await start({ bodyTimeoutMs: 60_000 });
    // Headers promise a body that never comes: the answer must not wait for it.
    const s = await openRaw(r.listener.port, `POST /webhooks/twitter/${r.id} HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n{"a"`);
    const { ms, received } = await whenClosed(s);
    expect(received).toMatch(/^HTTP\/1\.1 401 /);
    expect(ms).toBeLessThan(1_000);
  });
});

describe('GET /metrics', () => {
  it('counts deliveries by outcome and rejection reason, commit batches, and the outbox when there is one', async () => {
    const r = await start();
    const url = r.listener.url;
    const first = inboundDm({ senderId: '5', text: 'hello' });
    expect((await postDelivery(url, r.id, first)).status).toBe(200); // new ticket
    expect((await postDelivery(url, r.id, first)).status).toBe(200); // duplicate
    expect((await postDelivery(url, r.id, inboundDm({ senderId: '5', text: 'more' }))).status).toBe(200); // appended
    expect((await postDelivery(url, r.id, first, { secret: 'wrong' })).status).toBe(401);
    expect((await postDelivery(url, r.id, first, { signature: null })).status).toBe(401);
    expect((await postDelivery(url, r.id, '{"for_user_id":')).status).toBe(400);
    expect((await postDelivery(url, r.id, inboundDm({ senderId: '5', text: 'x', forUserId: '777' }))).status).toBe(403);
    expect((await postDelivery(url, 42, first)).status).toBe(404);
    expect((await getJson(`${url}/elsewhere`)).status).toBe(404);

    const m = await metricsText(url);
    expect(m.status).toBe(200);
    expect(m.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const t = m.text;
    expect(sample(t, 'omni_deliveries_accepted_total')).toBe(3);
    expect(sample(t, 'omni_delivery_events_total{outcome="new_ticket"}')).toBe(1);
    expect(sample(t, 'omni_delivery_events_total{outcome="duplicate"}')).toBe(1);
    expect(sample(t, 'omni_delivery_events_total{outcome="appended"}')).toBe(1);
    expect(sample(t, 'omni_delivery_events_total{outcome="echo"}')).toBe(0);
    expect(sample(t, 'omni_deliveries_rejected_total{reason="bad_signature"}')).toBe(1);
    expect(sample(t, 'omni_deliveries_rejected_total{reason="missing_signature"}')).toBe(1);
    expect(sample(t, 'omni_deliveries_rejected_total{reason="bad_json"}')).toBe(1);
    expect(sample(t, 'omni_deliveries_rejected_total{reason="account_mismatch"}')).toBe(1);
    expect(sample(t, 'omni_deliveries_rejected_total{reason="unknown_interaction"}')).toBe(1);
    expect(sample(t, 'omni_http_rejected_total{reason="not_found"}')).toBe(1);
    // Every committed delivery went through a batch; the histogram agrees with the committer.
    const batches = r.listener.committer.stats.batches;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(sample(t, 'omni_commit_batch_size_count')).toBe(batches);
    expect(sample(t, 'omni_commit_batch_size_sum')).toBe(r.listener.committer.stats.jobs);
    expect(sample(t, 'omni_commit_duration_seconds_count')).toBe(batches);
    expect(sample(t, 'omni_commit_duration_seconds_bucket{le="+Inf"}')).toBe(batches);
    expect(t).toContain('# TYPE omni_commit_duration_seconds histogram');
    expect(sample(t, 'omni_http_open_connections')).toBeGreaterThanOrEqual(1);
    expect(sample(t, 'omni_outbox_messages{status="pending"}')).toBe(0);

    // The outbox (issue 5) is counted at scrape time.
    const row = (status: string) =>
      `(1, '456', 'hi', '${status}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`;
    await r.exec(
      `INSERT INTO outbox (interaction_id, recipient_twitter_id, text, status, next_attempt_at, created_at, updated_at) VALUES ${['pending', 'pending', 'failed', 'sent'].map(row).join(', ')}`,
    );
    const after = (await metricsText(url)).text;
    expect(sample(after, 'omni_outbox_messages{status="pending"}')).toBe(2);
    expect(sample(after, 'omni_outbox_messages{status="failed"}')).toBe(1);
  });
});
