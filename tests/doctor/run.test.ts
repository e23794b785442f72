// The doctor's runner and checks in process, with the database real and the outside world
// injected: time limits, prerequisites, exceptions, and the verdicts of the probes on answers the
// end-to-end tests cannot easily produce (slow, redirected, refused, stalled).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { INTERACTION_CHECKS } from '../../src/doctor/interaction-checks.js';
import { pass, warn, fail, CheckSkipped, type CheckResult, type DoctorDeps, type InteractionCheck } from '../../src/doctor/model.js';
import { probeCrcToken } from '../../src/doctor/probes.js';
import { runDoctor } from '../../src/doctor/run.js';
import { createSecretBox, keyFilePath, loadSecretBox } from '../../src/secrets.js';
import type { TwitterGateway } from '../../src/twitter/gateway.js';
import { crcResponseToken } from '../../src/twitter/signature.js';
import { handEdit, seedSmartchat } from '../support/doctor.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { tempDir } from '../support/tmp.js';
import { TEST_ENGINE, testDatabase, testSecretEnv } from '../support/engine.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(seed: Parameters<typeof seedInteraction>[1] = {}) {
  const dbPath = testDatabase();
  await seedSmartchat(dbPath);
  const { id } = await seedInteraction(dbPath, seed);
  const opened: Db[] = [];
  closers.push(async () => Promise.all(opened.map((d) => d.close())));
  const deps = (over: Partial<DoctorDeps> = {}): DoctorDeps => ({
    db: async () => {
      const db = await openDatabase(dbPath);
      opened.push(db);
      return db;
    },
    secretKey: async () => loadSecretBox(dbPath, testSecretEnv(dbPath)),
    secretKeySource: keyFilePath(dbPath),
    twitter: async () => {
      throw new Error('this test does not talk to Twitter');
    },
    fetch: globalThis.fetch,
    now: () => new Date(),
    ...over,
  });
  return { dbPath, id, deps };
}

const only = (...ids: string[]) => ({ global: [], interaction: INTERACTION_CHECKS.filter((c) => ids.includes(c.id)) });

/** The results of the interaction checks (the `database` check always comes first). */
const ofInteraction = (report: { checks: CheckResult[] }) => report.checks.filter((c) => c.scope === 'interaction');

/** An HTTP server whose answer each test decides. */
async function server(handler: http.RequestListener) {
  const s = http.createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    s.closeAllConnections();
    return new Promise((resolve) => s.close(resolve));
  });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe(`doctor runner on ${TEST_ENGINE}`, () => {
  it('cuts a hanging check off at its time limit, skips what requires a failure, and turns exceptions into failures', async () => {
    const { deps, id } = await setup();
    const started = Date.now();
    const checks: InteractionCheck[] = [
      { id: 'hangs', title: 'hangs', run: () => new Promise(() => undefined) },
      { id: 'after-hang', title: 'after', requires: ['hangs'], run: async () => pass('never') },
      { id: 'throws', title: 'throws', run: async () => Promise.reject(Object.assign(new Error('boom'), { hint: 'do this' })) },
      { id: 'skips', title: 'skips', run: async () => Promise.reject(new CheckSkipped('not today')) },
      { id: 'warns', title: 'warns', run: async () => warn('meh', 'maybe') },
      { id: 'after-warn', title: 'after warn', requires: ['warns'], run: async () => pass('ran') },
    ];
    const report = await runDoctor(deps(), { checks: { global: [], interaction: checks }, timeouts: { checkMs: 150 } });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(report.checks.filter((c) => c.scope === 'interaction').map((c) => [c.id, c.status, c.detail, c.fix, c.interactionId])).toEqual([
      ['hangs', 'fail', 'no result within 0.15 s', expect.stringContaining('run it again'), id],
      ['after-hang', 'skip', "needs 'hangs' to pass first", null, id],
      ['throws', 'fail', 'boom', 'do this', id],
      ['skips', 'skip', 'not today', null, id],
      ['warns', 'warn', 'meh', 'maybe', id],
      ['after-warn', 'pass', 'ran', null, id],
    ]);
  });

  it('is ok with warnings and skips, not with a failure', async () => {
    const { deps } = await setup();
    const one = (run: InteractionCheck['run']) => ({ global: [], interaction: [{ id: 'x', title: 'x', run }] });
    expect((await runDoctor(deps(), { checks: one(async () => warn('w', 'f')) })).ok).toBe(true);
    expect((await runDoctor(deps(), { checks: one(async () => ({ status: 'skip', detail: 's' })) })).ok).toBe(true);
    expect((await runDoctor(deps(), { checks: one(async () => fail('f', 'x')) })).ok).toBe(false);
  });

  it('refuses a requirement that is not listed before the check', async () => {
    const { deps } = await setup();
    const checks: InteractionCheck[] = [{ id: 'a', title: 'a', requires: ['b'], run: async () => pass('') }, { id: 'b', title: 'b', run: async () => pass('') }];
    await expect(runDoctor(deps(), { checks: { global: [], interaction: checks } })).rejects.toThrow("doctor check 'a' requires 'b', which is not listed before it");
  });

  // A read-only file and a missing one: what only SQLite has.
  it.runIf(TEST_ENGINE === 'sqlite')('fails the database check on a read-only database and on one that cannot be opened, skipping the rest', async () => {
    const { deps, dbPath } = await setup();
    const ro = await runDoctor(deps({ db: async () => openDatabase(dbPath, { readonly: true }).then((db) => (closers.push(() => db.close()), db)) }), { checks: { interaction: [] } });
    expect(ro.checks[0]).toMatchObject({ id: 'database', status: 'fail', detail: expect.stringContaining('cannot be written: attempt to write a readonly database') });

    const missing = path.join(tempDir(), 'nope', 'omni.db');
    const gone = await runDoctor(deps({ db: async () => openDatabase(missing, { readonly: true }) }));
    expect(gone.ok).toBe(false);
    expect(gone.checks[0]).toMatchObject({ id: 'database', status: 'fail', detail: expect.stringContaining(`cannot open the database ${missing}`) });
    expect(gone.checks.slice(1).every((c) => c.status === 'skip' && c.detail === "needs 'database' to pass first")).toBe(true);
  });

  it('reports a key that cannot decrypt the credentials, and the checks needing them skip', async () => {
    const { deps, id } = await setup();
    const other = createSecretBox(Buffer.alloc(32, 9), 'OMNI_SECRET_KEY'); // not the key the credentials were encrypted with
    const report = await runDoctor(deps({ secretKey: async () => other }), { checks: { interaction: only('credentials', 'listener-crc').interaction } });
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(byId['secret-key']).toMatchObject({ status: 'fail', detail: `the key (OMNI_SECRET_KEY) cannot decrypt the credentials of interaction ${id}`, fix: expect.stringContaining(`omni interaction edit ${id}`) });
    expect(byId['credentials']).toMatchObject({ status: 'skip', detail: "the stored credentials cannot be decrypted (see 'secret-key')" });
    expect(byId['listener-crc']).toMatchObject({ status: 'skip' });
  });
});

describe('doctor checks', () => {
  it('falls back on parameters 390, 317 and 315 when the interaction names no unit, activity or origin', async () => {
    const { deps, dbPath, id } = await setup();
    await handEdit(dbPath, `UPDATE interactions SET unit_id = NULL, activity_id = NULL, contact_origin_id = NULL WHERE id = ${id}`);
    const ids = ['unit', 'activity', 'contact-origin'];
    const withParams = await runDoctor(deps(), { checks: only(...ids) });
    expect(ofInteraction(withParams).map((c) => [c.id, c.status, c.detail])).toEqual([
      ['unit', 'pass', 'none on the interaction; parameter 390 gives HQ (1)'],
      ['activity', 'pass', 'none on the interaction; parameter 317 gives DM (1)'],
      ['contact-origin', 'pass', 'none on the interaction; parameter 315 gives Twitter (4)'],
    ]);
    await handEdit(dbPath, 'DELETE FROM parameters WHERE number IN (390, 317, 315)');
    const without = await runDoctor(deps(), { checks: only(...ids) });
    expect(ofInteraction(without).map((c) => [c.id, c.status, c.fix])).toEqual([
      ['unit', 'fail', `omni interaction edit ${id} --unit <id|name>`],
      ['activity', 'fail', `omni interaction edit ${id} --activity <id|name>`],
      ['contact-origin', 'fail', `omni interaction edit ${id} --origin <id|name>`],
    ]);
  });

  it('warns when Twitter does not state the access level, instead of guessing', async () => {
    const { deps } = await setup({ accountUserId: null });
    const gateway = { verifyCredentials: async () => ({ userId: '1', screenName: 'x', name: null, accessLevel: null }) } as unknown as TwitterGateway;
    const report = await runDoctor(deps({ twitter: async () => gateway }), { checks: only('credentials', 'dm-permission') });
    expect(ofInteraction(report).map((c) => [c.id, c.status])).toEqual([
      ['credentials', 'pass'],
      ['dm-permission', 'warn'],
    ]);
    expect(report.ok).toBe(true);
  });

  it('judges the CRC answer: right token, slow, wrong status, redirect, not a CRC, no answer in time', async () => {
    let mode = 'ok';
    const url = await server((req, res) => {
      if (req.headers['user-agent'] !== 'omni-doctor') return void res.writeHead(403).end();
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('crc_token') ?? '';
      // The probe sends a token shaped like Twitter's, which issue 8's listener insists on.
      if (!/^[A-Za-z0-9_-]{48}$/.test(token)) return void res.writeHead(400).end();
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ response_token: crcResponseToken(TEST_SECRETS.apiSecretKey, token) }));
      if (mode === 'ok') return answer();
      if (mode === 'slow') return void setTimeout(answer, 450);
      if (mode === 'redirect') return void res.writeHead(301, { location: 'https://elsewhere.example.com/' }).end();
      if (mode === 'html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>It works!</html>');
      if (mode === 'stall') return; // never answers
    });
    const { deps } = await setup({ callbackUrl: url });
    const run = async (m: string) => {
      mode = m;
      const r = await runDoctor(deps(), { checks: only('listener-crc'), timeouts: { crcMs: 600 } });
      return ofInteraction(r)[0]!;
    };
    expect(await run('ok')).toMatchObject({ status: 'pass' });
    expect(await run('slow')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^answered correctly but in \d+ ms; Twitter gives up at 0.6 s$/) });
    expect(await run('redirect')).toMatchObject({ status: 'fail', detail: `${url}/webhooks/twitter/1 answered HTTP 301 (redirect to https://elsewhere.example.com/; Twitter does not follow redirects)` });
    expect(await run('html')).toMatchObject({ status: 'fail', detail: expect.stringContaining('answered 200 without a response_token: something else answers there ("<html>It works!</html>")') });
    expect(await run('stall')).toMatchObject({ status: 'fail', detail: `no answer from ${url}/webhooks/twitter/1 within 0.6 s (Twitter's limit)` });
  });

  it("judges the Helper by a GET: 405 or 2xx pass, 404 and 5xx fail, 401 warns, silence fails; it never posts", async () => {
    let status = 405;
    const methods: string[] = [];
    const base = await server((req, res) => {
      methods.push(`${req.method} ${req.headers['user-agent']}`);
      if (status === 0) return; // stalls
      res.writeHead(status).end();
    });
    const { deps, dbPath } = await setup({ helper: true });
    await seedSmartchat(dbPath, { 441: `${base}/webhooks/rest/webhook`, 450: 'Y', 453: 'menu', 402: 'https://helper.example.com/' });
    const verdict = async (s: number) => {
      status = s;
      return (await runDoctor(deps(), { checks: only('helper-reachable'), timeouts: { helperMs: 300 } })).checks.find((c) => c.id === 'helper-reachable')!;
    };
    // 402 is shown, never called.
    expect(await verdict(405)).toMatchObject({ status: 'pass', detail: expect.stringMatching(/answered HTTP 405 to a GET in \d+ ms; Helper external URL \(402\): https:\/\/helper.example.com\/$/) });
    expect(await verdict(200)).toMatchObject({ status: 'pass' });
    expect(await verdict(404)).toMatchObject({ status: 'fail', fix: 'omni param set 441 https://<helper>/webhooks/rest/webhook' });
    expect(await verdict(502)).toMatchObject({ status: 'fail', detail: `${base}/webhooks/rest/webhook answered HTTP 502` });
    expect(await verdict(401)).toMatchObject({ status: 'warn' });
    expect(await verdict(0)).toMatchObject({ status: 'fail', detail: expect.stringContaining('within 0.3 s') });
    expect(new Set(methods)).toEqual(new Set(['GET omni-doctor']));
  });

  it('makes CRC tokens shaped like Twitter\'s', () => {
    const tokens = new Set(Array.from({ length: 50 }, probeCrcToken));
    expect(tokens.size).toBe(50);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{48}$/);
  });
});
