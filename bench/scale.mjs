// `npm run bench -- --only scale --pg postgres://…` (or OMNI_BENCH_POSTGRES_URL): a fleet of 1, 2 and
// 3 `omni listen` processes on one PostgreSQL database behind a round-robin load (autocannon spreads
// its connections over the listeners' URLs, as a load balancer with keep-alive does), against the
// SQLite single listener of the same machine; then 2 listeners again with one killed by SIGKILL in
// the middle of the load. Every run is checked: each event id answered 200 is stored exactly once.
// Each PostgreSQL run gets a fresh database (CREATE DATABASE: the role needs CREATEDB), dropped after
// unless --keep. Method and figures: docs/BENCHMARKS.md, "Scale on PostgreSQL".
import crypto from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSqlite } from './lib/sqlite.mjs';
import pg from 'pg';
import { deliveryFactory } from './lib/deliveries.mjs';
import { deliveryLoad } from './lib/load.mjs';
import { cpuSeconds, spawnServer } from './lib/proc.mjs';
import { round } from './lib/fsync.mjs';

export const FLEET_SIZES = [1, 2, 3];

/** The server URL of the scale section, or undefined: it is then skipped with one line. */
export function scalePostgresUrl(flag) {
  const url = (flag ?? process.env.OMNI_BENCH_POSTGRES_URL ?? '').trim();
  return url || undefined;
}

const mask = (url) => url.replace(/(postgres(?:ql)?:\/\/[^:@/\s]*:)([^@\s]*)@/gi, (_m, head) => `${head}***@`);

/**
 * Runs the section. `ctx`: { omni (bench/lib/omni.ts bundled), tmp, bin, root, env, opt, keep, say, pgUrl }.
 * Returns { skipped } without a URL; otherwise { sqlite, fleet: [{ listeners, … }], kill }.
 */
export async function scaleSection(ctx) {
  const { say, opt } = ctx;
  if (!ctx.pgUrl) {
    say('scale: skipped: it needs a PostgreSQL server: --pg postgres://user:password@host:5432/postgres or OMNI_BENCH_POSTGRES_URL (a role that may CREATE DATABASE)');
    return { skipped: 'no PostgreSQL URL (--pg or OMNI_BENCH_POSTGRES_URL)' };
  }
  const server = ctx.pgUrl;
  // One key for every listener of the fleet, as every host of a real one shares it (docs/postgresql.md).
  const key = crypto.randomBytes(32).toString('base64');
  const env = { ...ctx.env, OMNI_SECRET_KEY: key };
  const created = [];

  const listenersOn = async (where, n, name) => {
    const started = [];
    try {
      for (let i = 0; i < n; i++) {
        started.push(
          await spawnServer([ctx.bin, '--db', where, 'listen', '--port', '0', '--host', '127.0.0.1', '--log-format', 'json', '--no-watchdog', '--no-replay'], {
            logFile: path.join(ctx.tmp, `${name}-${i + 1}.log`),
            env,
            cwd: ctx.root,
          }),
        );
      }
    } catch (err) {
      await Promise.all(started.map((s) => s.stop()));
      if (where.startsWith('postgres')) {
        const why = /error: .*/.exec(String(err.message))?.[0] ?? String(err.message).split('\n')[0];
        throw new Error(mask(`scale: omni listen --db ${where} did not start: ${why.trim()}\n  the fleet needs \`omni listen\` on PostgreSQL (issue 12); the SQLite figure above stands alone`));
      }
      throw err;
    }
    return started;
  };

  /** A warm-up then the measured run over `urls` (connections spread round-robin); CPU of all listeners. */
  const measure = async (listeners, webhook, next, during) => {
    const urls = listeners.map((l) => l.url);
    const connections = Math.max(urls.length, Math.floor(opt.connections / urls.length) * urls.length);
    const warm = await deliveryLoad({ url: urls, path: webhook, next, connections, duration: opt.warmup });
    const cpu0 = listeners.map((l) => cpuSeconds(l.pid));
    const measured = deliveryLoad({ url: urls, path: webhook, next, connections, duration: opt.duration });
    await during?.();
    const { answered, ...summary } = await measured;
    const cpu = listeners.reduce((s, l, i) => s + (alive(l) ? cpuSeconds(l.pid) - cpu0[i] : 0), 0);
    return { summary: { ...summary, connections, cpuUsPerRequest: round((cpu * 1e6) / (answered.length || 1), 1) }, answered: [...warm.answered, ...answered] };
  };

  try {
    // The baseline: one listener on a SQLite file, the same load.
    say(`scale: SQLite, 1 listener, ${opt.connections} connections, ${opt.duration} s`);
    const file = path.join(ctx.tmp, 'scale.db');
    const seeded = await ctx.omni.seedInteraction(file);
    const [single] = await listenersOn(file, 1, 'scale-sqlite');
    const base = await measure([single], `/webhooks/twitter/${seeded.id}`, factory(ctx, seeded));
    const baseExit = await single.stop();
    const sqlite = { ...base.summary, exit: baseExit, check: checkAnswered(sqliteEventIds(file), base.answered) };
    say(`scale: SQLite ${Math.round(sqlite.rps)} req/s, p99 ${sqlite.p99} ms`);

    const fleet = [];
    for (const n of FLEET_SIZES) {
      say(`scale: PostgreSQL, ${n} listener${n > 1 ? 's' : ''}, round-robin, ${opt.duration} s`);
      const where = await freshDatabase(server, `fleet${n}`, created);
      const s = await ctx.omni.seedInteraction(where, { env: { OMNI_SECRET_KEY: key } });
      const listeners = await listenersOn(where, n, `scale-pg${n}`);
      const run = await measure(listeners, `/webhooks/twitter/${s.id}`, factory(ctx, s));
      const exits = await Promise.all(listeners.map((l) => l.stop()));
      const check = checkAnswered(await postgresEventIds(where), run.answered);
      fleet.push({ listeners: n, ...run.summary, ratio: round(run.summary.rps / sqlite.rps, 3), exits, check });
    }

    // Two listeners, the second killed by SIGKILL half-way through the measured run. Its connections
    // then fail (a load balancer would stop sending there after a failed /healthz); nothing answered
    // 200 by either may be missing.
    say(`scale: PostgreSQL, 2 listeners, one killed by SIGKILL after ${opt.duration / 2} s`);
    const where = await freshDatabase(server, 'kill', created);
    const s = await ctx.omni.seedInteraction(where, { env: { OMNI_SECRET_KEY: key } });
    const [survivor, victim] = await listenersOn(where, 2, 'scale-kill');
    const run = await measure([survivor, victim], `/webhooks/twitter/${s.id}`, factory(ctx, s), async () => {
      await sleep((opt.duration * 1000) / 2);
      victim.child.kill('SIGKILL');
      await victim.exited;
    });
    const survivorExit = await survivor.stop();
    const kill = { listeners: 2, killed: 1, ...run.summary, exit: survivorExit, victim: await victim.exited, check: checkAnswered(await postgresEventIds(where), run.answered) };
    return { server: mask(server), sqlite, fleet, kill };
  } finally {
    if (ctx.keep) say(`scale: kept the databases ${created.join(', ')}`);
    else for (const name of created) await admin(server, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).catch((err) => say(`scale: could not drop ${name}: ${err.message}`));
  }
}

/** The rows of the summary table. */
export function scaleRows(S, row, n) {
  if (S.skipped) return row('scale: fleet on PostgreSQL', `skipped: ${S.skipped}`, 'info');
  const once = (c) => `${n(c.answered200)} answered 200, ${n(c.stored)} stored, ${c.missing} missing, ${c.duplicates} twice`;
  const good = (c) => c.missing === 0 && c.duplicates === 0;
  row('scale: SQLite, 1 listener', `${n(S.sqlite.rps)} req/s, p99 ${S.sqlite.p99} ms`, 'baseline');
  for (const f of S.fleet) {
    row(`scale: PostgreSQL, ${f.listeners} listener${f.listeners > 1 ? 's' : ''}`, `${n(f.rps)} req/s, p99 ${f.p99} ms, ${f.ratio}× SQLite, ${f.cpuUsPerRequest} µs CPU/req`, 'info');
    row(`scale: ${f.listeners} listener${f.listeners > 1 ? 's' : ''}: answered 200 = stored once`, `${once(f.check)}, ${f.non2xx} non-2xx, ${f.errors} errors`, 'none missing', good(f.check) && f.non2xx === 0 && f.errors === 0);
  }
  const k = S.kill;
  row('scale: 2 listeners, one SIGKILLed mid-load', `${n(k.rps)} req/s, p99 ${k.p99} ms, ${k.errors} errors after the kill`, 'info');
  row('scale: SIGKILL run: answered 200 = stored once', once(k.check), 'none missing', good(k.check) && k.exit.code === 0);
}

function factory(ctx, seeded) {
  return deliveryFactory({ dmDeliveryBody: ctx.omni.dmDeliveryBody, secret: seeded.secrets.apiSecretKey });
}

function alive(l) {
  return l.child.exitCode === null && l.child.signalCode === null;
}

/** Answered 200 against stored: none missing, none stored twice. Stored but unanswered is harmless (answer lost with the connection). */
function checkAnswered(stored, answered) {
  const set = new Set(stored);
  const missing = answered.filter((e) => !set.has(e)).length;
  return { answered200: new Set(answered).size, stored: stored.length, duplicates: stored.length - set.size, missing };
}

function sqliteEventIds(file) {
  return readSqlite(file, (db) => db.prepare("SELECT twitter_event_id FROM messages WHERE direction = 'inbound'").pluck().all());
}

function postgresEventIds(url) {
  return admin(url, async (client) => (await client.query("SELECT twitter_event_id FROM messages WHERE direction = 'inbound'")).rows.map((r) => r.twitter_event_id));
}

async function admin(server, fn) {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** CREATE DATABASE omni_bench_<pid>_<label> on the server; its URL. */
async function freshDatabase(server, label, created) {
  const name = `omni_bench_${process.pid}_${label}`;
  try {
    await admin(server, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.query(`CREATE DATABASE "${name}"`);
    });
  } catch (err) {
    throw new Error(`scale: cannot create a database on ${mask(server)}: ${err.message} (the role needs CREATEDB: ALTER ROLE <name> CREATEDB)`);
  }
  created.push(name);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.href;
}
