// The listener in-process over real HTTP on 127.0.0.1, on this run's engine: routing, CRC, signatures,
// limits, 503 (SQLite's read-only switch; PostgreSQL refusing connections is listener-engines.test.ts).
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { TEST_ENGINE } from '../support/engine.js';
import type { SeedOptions } from '../support/seed.js';
import { startInProcessListener } from '../support/in-process-listener.js';
import { fixture, getJson, inboundDm, inParallel, newEventId, postDelivery } from '../support/deliveries.js';
import { signBody, SIGNATURE_HEADER } from '../../src/twitter/signature.js';

const start = (seed: SeedOptions = {}) => startInProcessListener({ seed });

describe(`omni listen over HTTP on ${TEST_ENGINE}`, () => {
  it('answers the CRC with the interaction secret, 400 without a token, 404 for unknown or deleted interactions', async () => {
    const r = await start();
    const url = r.listener.url;
    expect(await getJson(`${url}/webhooks/twitter/${r.id}?crc_token=some_random`)).toEqual({
      status: 200,
      body: { response_token: 'sha256=VE19eUk6krbdSqWPdvH71xtFhApBAU81uPW3UT65vOs=' },
    });
    expect((await getJson(`${url}/webhooks/twitter/${r.id}`)).status).toBe(400);
    expect((await getJson(`${url}/webhooks/twitter/999?crc_token=x`)).status).toBe(404);
    expect((await getJson(`${url}/webhooks/twitter/abc?crc_token=x`)).status).toBe(404);
    expect((await getJson(`${url}/nowhere`)).status).toBe(404);
    await r.exec("UPDATE interactions SET deleted_at = 'now'");
    expect((await getJson(`${url}/webhooks/twitter/${r.id}?crc_token=some_random`)).status).toBe(404);
    const dm = await postDelivery(url, r.id, inboundDm({ senderId: '5', text: 'to a deleted interaction' }));
    expect(dm.status).toBe(404);
    expect(await r.count('messages')).toBe(0);
  });

  it('stores a signed recorded delivery, answers what happened, and treats a redelivery as a no-op', async () => {
    const r = await start();
    const body = fixture('v1-dm-inbound-text.zammad3.body.json');
    const first = await postDelivery(r.listener.url, r.id, body, { signature: 'sha256=OTguUdchBdxNal/csZsRkytKL5srrUuezZ3hp/2E404=' });
    expect(first.status).toBe(200);
    expect(first.body.results).toEqual([expect.objectContaining({ event: 'message_create', outcome: 'new_ticket', ticket: 1, screenName: 'medenhofer' })]);
    const again = await postDelivery(r.listener.url, r.id, body);
    expect(again.status).toBe(200);
    expect(again.body.results[0]).toMatchObject({ outcome: 'duplicate', ticket: 1 });
    expect(await r.count('messages')).toBe(1);
    expect(r.logs.filter((l) => l.msg === 'delivery').map((l) => l.results[0].outcome)).toEqual(['new_ticket', 'duplicate']);
  });

  it('refuses forged, missing and re-serialised signatures with 401 and stores nothing', async () => {
    const r = await start();
    const body = fixture('v1-dm-inbound-text.zammad3.body.json');
    expect((await postDelivery(r.listener.url, r.id, body, { secret: 'not-the-secret' })).status).toBe(401);
    expect((await postDelivery(r.listener.url, r.id, body, { signature: null })).status).toBe(401);
    expect((await postDelivery(r.listener.url, r.id, body, { signature: 'sha256=' })).status).toBe(401);
    // Signed correctly, but over other bytes than those sent.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString())));
    expect((await postDelivery(r.listener.url, r.id, reserialised, { signature: signBody('DDD', body) })).status).toBe(401);
    expect([await r.count('requesters'), await r.count('tickets'), await r.count('messages')]).toEqual([0, 0, 0]);
    expect(r.logs.filter((l) => l.msg === 'delivery rejected').map((l) => l.status)).toEqual([401, 401, 401, 401]);
  });

  it('verifies the raw bytes when numeric keys would be reordered by a JSON round trip', async () => {
    const r = await start();
    // users{} with "456" before "123": JSON.parse + stringify would put "123" first.
    const raw = `{"for_user_id":"123","direct_message_events":[{"type":"message_create","id":"${newEventId()}","created_timestamp":"1700000000000","message_create":{"target":{"recipient_id":"123"},"sender_id":"456","message_data":{"text":"order","entities":{"urls":[]}}}}],"users":{"456":{"id":"456","name":"M","screen_name":"m"},"123":{"id":"123","name":"Us","screen_name":"us"}}}`;
    expect(JSON.stringify(JSON.parse(raw))).not.toBe(raw);
    const res = await postDelivery(r.listener.url, r.id, raw);
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ outcome: 'new_ticket', screenName: 'm' });
  });

  it('answers 400 to a body that is not JSON, 403 to another account, and accepts any account while it is unknown', async () => {
    const r = await start();
    expect((await postDelivery(r.listener.url, r.id, '{"for_user_id":')).status).toBe(400);
    expect((await postDelivery(r.listener.url, r.id, '[1,2]')).status).toBe(400);
    // Its address reads fine (the main thread reads only that); the events do not parse (the writer
    // parses them): 400 all the same, and a delivery written alongside it is not affected.
    const [deep, fine] = await Promise.all([
      postDelivery(r.listener.url, r.id, '{"for_user_id":"123","direct_message_events":[{"id":"1",,}]}'),
      postDelivery(r.listener.url, r.id, inboundDm({ senderId: '6', text: 'in the same batch' })),
    ]);
    expect([deep.status, deep.body.error, fine.status]).toEqual([400, expect.stringContaining('not JSON'), 200]);
    expect(await r.count('messages')).toBe(1);
    await r.exec('DELETE FROM messages');
    const other = await postDelivery(r.listener.url, r.id, inboundDm({ senderId: '5', text: 'x', forUserId: '777' }));
    expect(other.status).toBe(403);
    expect(other.body.error).toContain('for_user_id 777');
    expect(await r.count('messages')).toBe(0);
    await r.exec('UPDATE interactions SET account_user_id = NULL');
    const unknown = await postDelivery(r.listener.url, r.id, inboundDm({ senderId: '5', text: 'x', forUserId: '777' }));
    expect(unknown.status).toBe(200);
    expect(await r.count('messages')).toBe(1);
    expect(r.logs.some((l) => l.level === 'warn' && /no known account/.test(l.msg))).toBe(true);
  });

  it('refuses a body over 1 MiB with 413 without reading it, declared or chunked', async () => {
    const r = await start();
    const { port } = r.listener;
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const send = (chunked: boolean) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/webhooks/twitter/${r.id}`,
          headers: { [SIGNATURE_HEADER]: signBody('DDD', big), ...(chunked ? {} : { 'content-length': big.length }) },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        // The server may close before the whole body is written: that is the point.
        req.on('error', (err) => (/ECONNRESET|EPIPE/.test(String((err as NodeJS.ErrnoException).code)) ? undefined : reject(err)));
        if (chunked) {
          for (let i = 0; i < 32; i++) req.write(big.subarray(i * 65536, (i + 1) * 65536));
          req.end();
        } else req.end(big);
      });
    expect(await send(false)).toBe(413);
    expect(await send(true)).toBe(413);
    expect(await r.count('messages')).toBe(0);
  });

  it.runIf(TEST_ENGINE === 'sqlite')('reports health, and answers 503 (never 200) while the database refuses writes', async () => {
    const r = await start();
    expect(await getJson(`${r.listener.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    r.db.sqlite.pragma('query_only = ON');
    const refused = await postDelivery(r.listener.url, r.id, inboundDm({ senderId: '5', text: 'while read-only' }));
    expect(refused.status).toBe(503);
    r.db.sqlite.pragma('query_only = OFF');
    const retried = await postDelivery(r.listener.url, r.id, inboundDm({ senderId: '5', text: 'after recovery' }));
    expect(retried.status).toBe(200);
    expect(await r.count('messages')).toBe(1);
  });

  it('commits hundreds of parallel deliveries together, none lost or doubled', async () => {
    const r = await start();
    const n = 400;
    const bodies = Array.from({ length: n }, (_, i) => ({ eventId: newEventId(), body: '' })).map((d, i) => ({
      ...d,
      body: inboundDm({ senderId: String(10_000 + (i % 37)), text: `message ${i}`, eventId: d.eventId }),
    }));
    // Every body twice, concurrently: redeliveries race with first deliveries.
    const all = [...bodies, ...bodies];
    const results = await inParallel(all, 64, (d) => postDelivery(r.listener.url, r.id, d.body));
    expect(results.every((x) => x.status === 200)).toBe(true);
    const outcomes = results.map((x) => x.body.results[0].outcome as string);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(n);
    expect(await r.count('messages')).toBe(n);
    expect(await r.count('tickets')).toBe(37);
    expect(await r.count('requesters')).toBe(37);
    // Group commit actually grouped: fewer transactions than deliveries.
    expect(r.listener.committer.stats.batches).toBeLessThan(all.length);
  });

  it('on close, answers a delivery whose body is still arriving, then refuses new connections', async () => {
    const r = await start();
    const body = Buffer.from(inboundDm({ senderId: '31', text: 'slow body' }));
    const answer = new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: r.listener.port,
        method: 'POST',
        path: `/webhooks/twitter/${r.id}`,
        headers: { [SIGNATURE_HEADER]: signBody('DDD', body), 'content-length': body.length },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(body.subarray(0, 10));
      // Let the server take the request in, then start closing, then send the rest.
      setTimeout(() => {
        closing = r.listener.close(5000);
        setTimeout(() => req.end(body.subarray(10)), 30);
      }, 30);
    });
    let closing: Promise<unknown> | undefined;
    expect(await answer).toBe(200);
    await closing;
    expect(await r.count('messages')).toBe(1);
    await expect(postDelivery(r.listener.url, r.id, inboundDm({ senderId: '1', text: 'late' }))).rejects.toThrow();
  });

  it('stops accepting on close but finishes the deliveries in flight', async () => {
    const r = await start();
    const inFlight = Array.from({ length: 50 }, (_, i) => postDelivery(r.listener.url, r.id, inboundDm({ senderId: String(i), text: `t${i}` })));
    const settled = Promise.allSettled(inFlight);
    await Promise.race(inFlight);
    await r.listener.close(5000);
    const outcomes = await settled;
    const answered = outcomes.filter((s) => s.status === 'fulfilled' && s.value.status === 200).length;
    expect(answered).toBeGreaterThan(0);
    // Every delivery answered 200 is stored; one cut off by the close was not answered 200 (Twitter retries it).
    expect(await r.count('messages')).toBe(answered);
    await expect(postDelivery(r.listener.url, r.id, inboundDm({ senderId: '1', text: 'late' }))).rejects.toThrow();
  });
});
