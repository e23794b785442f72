// `npm run bench`: omni's performance against ceilings measured in the same run on the same machine.
// Prints a table and writes bench/results.json. Method and latest figures: docs/BENCHMARKS.md.
//
//   node bench/run.mjs [--duration 10] [--connections 64] [--only intake,crc,growth,startup,fsync]
//                      [--messages 1000000] [--runs 20] [--intake-runs 5] [--growth-runs 3] [--quick]
//                      [--cpu-prof DIR]
//   node bench/run.mjs --only scale --pg postgres://… (or OMNI_BENCH_POSTGRES_URL): listeners on PostgreSQL (bench/scale.mjs)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { buildBenchSupport } from './lib/build.mjs';
import { deliveryFactory } from './lib/deliveries.mjs';
import { deliveryLoad, getLoad } from './lib/load.mjs';
import { cpuSeconds, peakRssMb, spawnServer, threadCpuDelta, threadCpuSeconds } from './lib/proc.mjs';
import { cloneInteractions, seedHistory } from './lib/seed.mjs';
import { measureFsync, median, round } from './lib/fsync.mjs';
import { readSqlite } from './lib/sqlite.mjs';
import { machineInfo } from './lib/machine.mjs';
import { scalePostgresUrl, scaleRows, scaleSection } from './scale.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN_DEFAULT = path.join(ROOT, 'bin', 'omni.js');
const SECTIONS = ['fsync', 'intake', 'crc', 'growth', 'startup'];

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    messages: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '20' },
    // Intake: bare server then omni, this many times (each prints its ratio); the median is reported.
    'intake-runs': { type: 'string', default: '5' },
    // Growth: empty and 1,000,000-message databases interleaved, this many pairs; the median ratio is reported.
    'growth-runs': { type: 'string', default: '3' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    // The omni under test for the intake and growth loads (default: this checkout's bin/omni.js): A/B against another build.
    bin: { type: 'string' },
    // The PostgreSQL server of the scale section (else OMNI_BENCH_POSTGRES_URL).
    pg: { type: 'string' },
    // Writes a V8 CPU profile of every omni listener into this folder (open it in Chrome DevTools).
    'cpu-prof': { type: 'string' },
  },
});
const quick = flags.quick;
const BIN = flags.bin ? path.resolve(flags.bin) : BIN_DEFAULT;
const opt = {
  duration: quick ? 3 : Number(flags.duration),
  warmup: quick ? 1 : Number(flags.warmup),
  connections: Number(flags.connections),
  messages: quick ? 100_000 : Number(flags.messages),
  runs: quick ? 5 : Number(flags.runs),
  intakeRuns: quick ? 1 : Number(flags['intake-runs']),
  growthRuns: quick ? 1 : Number(flags['growth-runs']),
};
const only = new Set(flags.only ? flags.only.split(',') : SECTIONS);
// CRC and memory are read off the intake listener.
if (only.has('crc')) only.add('intake');

if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) {
  console.error('dist/cli.js is missing: run `npm run build` first (npm run bench does).');
  process.exit(1);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-bench-'));
const env = { HOME: tmp, XDG_DATA_HOME: path.join(tmp, 'xdg'), NO_COLOR: '1' };
const say = (s) => process.stderr.write(s + '\n');
const results = { machine: machineInfo(tmp), options: opt, sections: {} };
const R = results.sections;

try {
  const omni = await buildBenchSupport();
  if (only.has('fsync')) {
    say('fsync: timing fdatasync and one-row WAL commits');
    R.fsync = measureFsync(tmp);
  }
  if (only.has('intake')) R.intake = await intakeSection(omni);
  if (only.has('growth')) R.growth = await growthSection(omni);
  if (only.has('startup')) R.startup = await startupSection(omni);
  if (only.has('scale')) R.scale = await scaleSection({ omni, tmp, bin: BIN, root: ROOT, env, opt, keep: flags.keep, say, pgUrl: scalePostgresUrl(flags.pg) });
} finally {
  if (!flags.keep) fs.rmSync(tmp, { recursive: true, force: true });
  else say(`kept ${tmp}`);
}

const rows = table(R);
printTable(rows);
results.table = rows;
fs.writeFileSync(new URL('results.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
say('\nwrote bench/results.json');

// ---------------------------------------------------------------------------------------------

async function startOmni(db, name) {
  const prof = flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(flags['cpu-prof'])] : [];
  return spawnServer([...prof, BIN, '--db', db, 'listen', '--port', '0', '--log-format', 'json'], { logFile: path.join(tmp, `${name}.log`), env, cwd: ROOT });
}

/** Warm-up then the measured run, same connections; returns the measured run and every id answered 200. */
async function loadOnce(url, pathName, next) {
  const warm = await deliveryLoad({ url, path: pathName, next, connections: opt.connections, duration: opt.warmup });
  const run = await deliveryLoad({ url, path: pathName, next, connections: opt.connections, duration: opt.duration });
  const { answered, ...summary } = run;
  return { summary, answered: [...warm.answered, ...answered] };
}

/** One load against a running server: the run, and the server's CPU (all threads, and by thread) and peak RSS over it. */
async function measured(server, pathName, next) {
  const cpu0 = cpuSeconds(server.pid);
  const threads0 = threadCpuSeconds(server.pid);
  const run = await loadOnce(server.url, pathName, next);
  return { run, cpu: cpuSeconds(server.pid) - cpu0, threads: threadCpuDelta(server.pid, threads0, threadCpuSeconds(server.pid)), peak: peakRssMb(server.pid) };
}

/** Every event id answered 200 is stored exactly once; returns the counts. */
function checkStored(dbFile, answered, sinceMessageId) {
  return readSqlite(dbFile, (db) => {
    const stored = db.prepare("SELECT twitter_event_id AS e FROM messages WHERE id > ? AND direction = 'inbound'").pluck().all(sinceMessageId);
    const set = new Set(stored);
    const missing = answered.filter((e) => !set.has(e)).length;
    // More rows than answers is expected and harmless: deliveries in flight when the load stopped
    // were committed, but their answer went to a closed connection (Twitter would retry; dedup).
    return { answered200: answered.length, stored: stored.length, distinctStored: set.size, missing, storedUnanswered: stored.length - (answered.length - missing) };
  });
}

/** One server's measured load: its summary, CPU per request (all threads, and split by thread), peak RSS. */
function serverFigures({ run, cpu, threads, peak }) {
  const per = (seconds) => round((seconds * 1e6) / (run.answered.length || 1), 1);
  return {
    ...run.summary,
    cpuSeconds: round(cpu),
    cpuUsPerRequest: per(cpu),
    ...(threads ? { cpuUsPerRequestByThread: { main: per(threads.main), writer: per(threads.busiest), rest: per(threads.rest) } } : {}),
    peakRssMb: round(peak, 1),
  };
}

/** Bare server then omni on a fresh database, measured back to back: one ratio of req/s and of CPU per request. */
async function intakeRun(omni, k) {
  const db = path.join(tmp, `intake-${k}.db`);
  const { id, secrets } = await omni.seedInteraction(db);
  const factory = () => deliveryFactory({ dmDeliveryBody: omni.dmDeliveryBody, secret: secrets.apiSecretKey });
  const webhook = `/webhooks/twitter/${id}`;

  say(`intake run ${k + 1}/${opt.intakeRuns}: bare node http server, ${opt.connections} connections, ${opt.duration} s`);
  const bare = await spawnServer([path.join(ROOT, 'bench', 'bare-server.mjs')], { logFile: path.join(tmp, 'bare.log'), cwd: ROOT });
  const bareM = await measured(bare, webhook, factory());
  await bare.stop();

  // The floor of a durable intake: bare + HMAC check + one row per delivery, group-committed, synchronous=FULL.
  say(`intake run ${k + 1}/${opt.intakeRuns}: durable bare server (HMAC, one SQLite row per delivery, group commit), ${opt.connections} connections, ${opt.duration} s`);
  const durable = await spawnServer([path.join(ROOT, 'bench', 'durable-bare-server.mjs'), path.join(tmp, `durable-${k}.db`)], {
    logFile: path.join(tmp, 'durable.log'),
    env: { DURABLE_BARE_SECRET: secrets.apiSecretKey },
    cwd: ROOT,
  });
  const durableM = await measured(durable, webhook, factory());
  await durable.stop();

  // The floor of omni's data model: the durable floor plus omni's own statements per DM on omni's schema, a parse and a log line.
  say(`intake run ${k + 1}/${opt.intakeRuns}: data-model floor (omni's statements called straight, group commit, FULL), ${opt.connections} connections, ${opt.duration} s`);
  const floorDb = path.join(tmp, `floor-${k}.db`);
  const seededFloor = await omni.seedInteraction(floorDb);
  const floor = await spawnServer([path.join(ROOT, 'bench', 'model-floor-server.mjs'), floorDb, String(seededFloor.id)], {
    logFile: path.join(tmp, 'floor.log'),
    env: { MODEL_FLOOR_SECRET: seededFloor.secrets.apiSecretKey },
    cwd: ROOT,
  });
  const floorM = await measured(floor, `/webhooks/twitter/${seededFloor.id}`, deliveryFactory({ dmDeliveryBody: omni.dmDeliveryBody, secret: seededFloor.secrets.apiSecretKey }));
  await floor.stop();

  say(`intake run ${k + 1}/${opt.intakeRuns}: omni listen (synchronous=FULL), ${opt.connections} connections, ${opt.duration} s`);
  const listener = await startOmni(db, `intake-${k}`);
  const omniM = await measured(listener, webhook, factory());

  let crc;
  if (only.has('crc') && k === opt.intakeRuns - 1) {
    say('crc: GET crc_token, 10 connections');
    crc = await getLoad({ url: listener.url, path: `${webhook}?crc_token=bench_${Date.now()}`, connections: 10, duration: quick ? 2 : 5 });
  }
  const stopped = await listener.stop();
  const check = checkStored(db, omniM.run.answered, 0);
  // The bare server has one thread: no split by thread.
  const b = serverFigures({ ...bareM, threads: undefined });
  const d = serverFigures(durableM);
  const f = { ...serverFigures(floorM), check: checkStored(floorDb, floorM.run.answered, 0) };
  // CPU per answered request is steadier than req/s on a shared machine: compare it before/after a change.
  const o = { ...serverFigures(omniM), exit: stopped };
  const r = {
    bare: b,
    durable: d,
    floor: f,
    omni: o,
    ratio: round(omniM.run.summary.rps / bareM.run.summary.rps, 3),
    cpuRatio: round(o.cpuUsPerRequest / b.cpuUsPerRequest, 2),
    // Omni against the durable floor: what omni spends beyond HMAC + one group-committed row.
    durableRatio: round(omniM.run.summary.rps / durableM.run.summary.rps, 3),
    cpuRatioToDurable: round(o.cpuUsPerRequest / d.cpuUsPerRequest, 2),
    // The data-model floor against the bare server (what any implementation of omni's schema pays), and omni against it.
    floorCpuRatio: round(f.cpuUsPerRequest / b.cpuUsPerRequest, 2),
    cpuRatioToFloor: round(o.cpuUsPerRequest / f.cpuUsPerRequest, 2),
    check,
    ...(crc ? { crc } : {}),
  };
  const split = (x) => `main ${x.cpuUsPerRequestByThread.main}, writer ${x.cpuUsPerRequestByThread.writer}, rest ${x.cpuUsPerRequestByThread.rest}`;
  say(
    `  ratio ${r.ratio} (omni ${Math.round(o.rps)} / bare ${Math.round(b.rps)} req/s), CPU ${o.cpuUsPerRequest} µs vs ${b.cpuUsPerRequest} µs = ${r.cpuRatio}× ` +
      `(${split(o)}), p99 ${o.p99} ms, peak RSS ${o.peakRssMb} MB\n` +
      `  durable bare ${Math.round(d.rps)} req/s, CPU ${d.cpuUsPerRequest} µs (${split(d)}) = ${round(d.cpuUsPerRequest / b.cpuUsPerRequest, 2)}× bare; ` +
      `omni / durable bare: req/s ${r.durableRatio}, CPU ${r.cpuRatioToDurable}×\n` +
      `  data-model floor ${Math.round(f.rps)} req/s, CPU ${f.cpuUsPerRequest} µs (${split(f)}) = ${r.floorCpuRatio}× bare; omni / floor: CPU ${r.cpuRatioToFloor}×`,
  );
  return r;
}

async function intakeSection(omni) {
  const runs = [];
  for (let k = 0; k < opt.intakeRuns; k++) runs.push(await intakeRun(omni, k));
  // The run whose ratio is the median stands for the section; every run is kept.
  const byRatio = [...runs].sort((a, b) => a.ratio - b.ratio);
  const mid = byRatio[(byRatio.length - 1) >> 1];
  return {
    ...mid,
    crc: runs[runs.length - 1].crc,
    runs: runs.map((r) => ({
      ratio: r.ratio,
      cpuRatio: r.cpuRatio,
      durableRatio: r.durableRatio,
      cpuRatioToDurable: r.cpuRatioToDurable,
      floorCpuRatio: r.floorCpuRatio,
      cpuRatioToFloor: r.cpuRatioToFloor,
      bare: r.bare,
      durable: r.durable,
      floor: r.floor,
      omni: r.omni,
      check: r.check,
    })),
    medianFloorCpuRatio: round(median(runs.map((r) => r.floorCpuRatio)), 2),
    medianCpuRatioToFloor: round(median(runs.map((r) => r.cpuRatioToFloor)), 2),
    medianRatio: round(median(runs.map((r) => r.ratio)), 3),
    medianCpuRatio: round(median(runs.map((r) => r.cpuRatio)), 2),
    medianCpuRatioToDurable: round(median(runs.map((r) => r.cpuRatioToDurable)), 2),
    maxPeakRssMb: Math.max(...runs.map((r) => r.omni.peakRssMb)),
    peakRssUnder150: runs.filter((r) => r.omni.peakRssMb < 150).length,
    maxP99: Math.max(...runs.map((r) => r.omni.p99)),
  };
}

async function growthSection(omni) {
  const db = path.join(tmp, 'grown.db');
  const { id, secrets } = await omni.seedInteraction(db);
  say(`growth: seeding ${opt.messages.toLocaleString('en')} messages`);
  const t0 = performance.now();
  const handle = await omni.openDatabase(db);
  const seeded = seedHistory(handle.sqlite, { interactionId: id, messages: opt.messages, requesters: Math.max(1000, opt.messages / 10) });
  await handle.close();
  const seedSeconds = (performance.now() - t0) / 1000;

  // Interleaved: empty, grown, empty, grown, ... so that the machine's drift hits both alike; each
  // pair gives one ratio and the median of them is reported. A fresh empty database each time.
  const pairs = [];
  const checks = [];
  for (let k = 0; k < opt.growthRuns; k++) {
    const edb = path.join(tmp, `empty-${k}.db`);
    const e = await omni.seedInteraction(edb);
    say(`growth pair ${k + 1}/${opt.growthRuns}: omni listen on an empty database, ${opt.duration} s`);
    const le = await startOmni(edb, `empty-${k}`);
    const empty = (await loadOnce(le.url, `/webhooks/twitter/${e.id}`, deliveryFactory({ dmDeliveryBody: omni.dmDeliveryBody, secret: e.secrets.apiSecretKey }))).summary;
    await le.stop();

    say(`growth pair ${k + 1}/${opt.growthRuns}: omni listen on ${opt.messages.toLocaleString('en')} stored messages, ${opt.duration} s`);
    const before = maxMessageId(db);
    const lg = await startOmni(db, `grown-${k}`);
    // Event ids distinct from the seeded ones (17…) and from the earlier runs on this database.
    const run = await loadOnce(lg.url, `/webhooks/twitter/${id}`, deliveryFactory({ dmDeliveryBody: omni.dmDeliveryBody, secret: secrets.apiSecretKey, eventPrefix: String(18 + k) }));
    await lg.stop();
    checks.push(checkStored(db, run.answered, before));
    pairs.push({ empty: pick(empty), grown: pick(run.summary), ratio: round(run.summary.rps / empty.rps, 3) });
    say(`  ratio ${pairs[k].ratio} (grown ${Math.round(run.summary.rps)} / empty ${Math.round(empty.rps)} req/s)`);
  }

  say('growth: ticket list, first page');
  const inProcess = [];
  const h = await omni.openDatabase(db);
  for (let i = 0; i < opt.runs + 1; i++) {
    const t = performance.now();
    const rows = await omni.listTickets(h.kysely, { status: 'open', limit: 50 });
    inProcess.push(performance.now() - t);
    if (rows.length !== 50) throw new Error(`ticket list returned ${rows.length} rows`);
  }
  await h.close();
  const e2e = timeCommands([{ name: 'ticket list', args: [BIN, '--db', db, 'ticket', 'list'] }], opt.runs)['ticket list'];
  const mid = [...pairs].sort((a, b) => a.ratio - b.ratio)[(pairs.length - 1) >> 1];
  return {
    seeded: { ...seeded, seconds: round(seedSeconds, 1), dbMb: round(fs.statSync(db).size / 2 ** 20, 0) },
    empty: mid.empty,
    grown: mid.grown,
    ratio: round(median(pairs.map((p) => p.ratio)), 3),
    pairs,
    check: {
      answered200: checks.reduce((a, c) => a + c.answered200, 0),
      missing: checks.reduce((a, c) => a + c.missing, 0),
      duplicates: checks.reduce((a, c) => a + (c.stored - c.distinctStored), 0),
    },
    ticketList: { inProcessFirstMs: round(inProcess[0]), inProcessMedianMs: round(median(inProcess.slice(1))), endToEndMedianMs: e2e.median },
  };
}

function maxMessageId(dbFile) {
  return readSqlite(dbFile, (db) => db.prepare('SELECT coalesce(max(id), 0) FROM messages').pluck().get());
}

async function startupSection(omni) {
  const db = path.join(tmp, 'startup.db');
  const { id } = await omni.seedInteraction(db, { name: 'Support 0001' });
  const sqlite = new Database(db);
  cloneInteractions(sqlite, id, 1000);
  sqlite.close();
  say(`startup: node -e 0, omni --version, omni interaction list (1,000 interactions), ${opt.runs} runs each`);
  const t = timeCommands(
    [
      { name: 'node -e 0', args: ['-e', '0'] },
      { name: 'omni --version', args: [BIN, '--version'] },
      { name: 'omni interaction list', args: [BIN, '--db', db, 'interaction', 'list'], lines: 1001 },
    ],
    opt.runs,
  );
  const base = t['node -e 0'].median;
  return {
    node: t['node -e 0'],
    version: { ...t['omni --version'], ratio: round(t['omni --version'].median / base, 2) },
    interactionList: { ...t['omni interaction list'], ratio: round(t['omni interaction list'].median / base, 2) },
  };
}

/** Wall time of each command, `runs` times, round-robin so that background noise hits all alike. */
function timeCommands(commands, runs) {
  const times = Object.fromEntries(commands.map((c) => [c.name, []]));
  for (let r = -2; r < runs; r++) {
    for (const c of commands) {
      const t = performance.now();
      const p = spawnSync(process.execPath, c.args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
      const ms = performance.now() - t;
      if (p.status !== 0) throw new Error(`${c.name} failed: ${p.stderr}`);
      if (c.lines && p.stdout.trim().split('\n').length < c.lines) throw new Error(`${c.name} printed ${p.stdout.split('\n').length} lines`);
      if (r >= 0) times[c.name].push(ms); // the first two rounds warm the page cache
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { median: round(median(v), 1), min: round(Math.min(...v), 1) }]));
}

function pick(s) {
  return { rps: s.rps, p50: s.p50, p99: s.p99, non2xx: s.non2xx, errors: s.errors };
}

// ---------------------------------------------------------------------------------------------

function table(S) {
  const rows = [];
  const row = (metric, measured, target, met) => rows.push({ metric, measured, target, met: met === undefined ? '' : met ? 'yes' : 'NO' });
  const n = (x) => Math.round(x).toLocaleString('en');
  if (S.fsync) {
    row('fdatasync 4 KiB (median)', `${S.fsync.fdatasyncMs.median} ms`, 'info');
    row('SQLite WAL commit, synchronous=FULL', `${S.fsync.sqliteCommitMs.median} ms (≤ ${n(S.fsync.commitsPerSecondCeiling)} commits/s)`, 'info');
  }
  if (S.intake) {
    const I = S.intake;
    const { bare, omni, check, crc } = I;
    const runs = I.runs.length;
    const all = (f) => I.runs.map(f).join(', ');
    row('intake: bare node http (median run)', `${n(bare.rps)} req/s, p50 ${bare.p50} ms, p99 ${bare.p99} ms`, 'ceiling');
    row('intake: omni listen (median run)', `${n(omni.rps)} req/s, p50 ${omni.p50} ms, p99 ${omni.p99} ms`, 'info');
    row(`intake: p99 latency, ${runs} runs`, `${all((r) => r.omni.p99)} ms`, 'p99 < 50 ms', I.maxP99 < 50);
    row(`intake: ratio omni / bare, ${runs} runs`, `median ${I.medianRatio} (${all((r) => r.ratio)})`, '≥ 0.5', I.medianRatio >= 0.5);
    row(`intake: CPU per request, ratio to bare`, `median ${I.medianCpuRatio}× (${all((r) => `${r.cpuRatio}×`)})`, '≤ 2.5×', I.medianCpuRatio <= 2.5);
    const t = omni.cpuUsPerRequestByThread;
    row('intake: server CPU per request (median run)', `omni ${omni.cpuUsPerRequest} µs (main ${t.main}, writer ${t.writer}, other threads ${t.rest}), bare ${bare.cpuUsPerRequest} µs`, 'info');
    const dt = I.durable.cpuUsPerRequestByThread;
    row(
      'intake: durable bare (HMAC + 1 row, group commit, FULL)',
      `${n(I.durable.rps)} req/s, ${I.durable.cpuUsPerRequest} µs (main ${dt.main}, writer ${dt.writer}, other threads ${dt.rest}) = ${round(I.durable.cpuUsPerRequest / bare.cpuUsPerRequest, 2)}× bare`,
      'floor',
    );
    row(`intake: CPU per request, omni / durable bare`, `median ${I.medianCpuRatioToDurable}× (${all((r) => `${r.cpuRatioToDurable}×`)})`, 'info');
    const ft = I.floor.cpuUsPerRequestByThread;
    row(
      "intake: data-model floor (omni's statements straight, FULL)",
      `${n(I.floor.rps)} req/s, ${I.floor.cpuUsPerRequest} µs (main ${ft.main}, writer ${ft.writer}, other threads ${ft.rest}); CPU median ${I.medianFloorCpuRatio}× bare (${all((r) => `${r.floorCpuRatio}×`)})`,
      'floor',
    );
    row(`intake: CPU per request, omni / data-model floor`, `median ${I.medianCpuRatioToFloor}× (${all((r) => `${r.cpuRatioToFloor}×`)})`, 'info');
    const checks = I.runs.map((r) => r.check);
    const sum = (f) => checks.reduce((a, c) => a + f(c), 0);
    const clean = I.runs.every((r) => r.check.missing === 0 && r.check.distinctStored === r.check.stored && r.omni.non2xx === 0 && r.omni.errors === 0);
    row(
      'intake: answered 200 all stored once',
      `${n(sum((c) => c.answered200))} answered, ${n(sum((c) => c.stored))} stored, ${sum((c) => c.missing)} missing, ${I.runs.reduce((a, r) => a + r.omni.non2xx, 0)} non-2xx, ${I.runs.reduce((a, r) => a + r.omni.errors, 0)} errors`,
      'none missing',
      clean,
    );
    row(`memory: listener peak RSS, ${runs} runs`, `${all((r) => r.omni.peakRssMb)} MB (bare: ${bare.peakRssMb} MB)`, `< 150 MB in ${runs} of ${runs}`, I.peakRssUnder150 === runs);
    if (crc) row('CRC: GET latency', `p50 ${crc.p50} ms, p99 ${crc.p99} ms (${n(crc.rps)} req/s)`, 'p99 < 5 ms', crc.p99 < 5 && crc.non2xx === 0);
  }
  if (S.growth) {
    const g = S.growth;
    row(`growth: intake on ${n(g.seeded.messages)} messages (median pair)`, `${n(g.grown.rps)} req/s vs ${n(g.empty.rps)} empty, p99 ${g.grown.p99} ms`, 'info');
    row(`growth: ratio grown / empty, ${g.pairs.length} interleaved pairs`, `median ${g.ratio} (${g.pairs.map((p) => p.ratio).join(', ')})`, '≥ 0.9', g.ratio >= 0.9);
    row('growth: answered 200 all stored once', `${n(g.check.answered200)} answered, ${g.check.missing} missing, ${g.check.duplicates} twice`, 'none missing', g.check.missing === 0 && g.check.duplicates === 0);
    row('ticket list first page (query, in process)', `${g.ticketList.inProcessFirstMs} ms first, ${g.ticketList.inProcessMedianMs} ms median`, '< 50 ms', g.ticketList.inProcessFirstMs < 50);
    row('ticket list first page (command, end to end)', `${g.ticketList.endToEndMedianMs} ms median`, 'info');
  }
  if (S.startup) {
    const s = S.startup;
    row('start-up: node -e 0', `${s.node.median} ms median`, 'baseline');
    row('start-up: omni --version', `${s.version.median} ms (${s.version.ratio}×)`, '≤ 1.3×', s.version.ratio <= 1.3);
    row('start-up: omni interaction list (1,000)', `${s.interactionList.median} ms (${s.interactionList.ratio}×)`, '≤ 2×', s.interactionList.ratio <= 2);
  }
  if (S.scale) scaleRows(S.scale, row, n);
  return rows;
}

function printTable(rows) {
  const cols = ['metric', 'measured', 'target', 'met'];
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padEnd(w[i])).join(' | ') + ' |';
  console.log(line(cols));
  console.log('|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|');
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
}
