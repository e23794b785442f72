// In-process CPU of the intake writer's pipeline (inlineWriter, batches of 40, synchronous=OFF so the
// disk is out of it), and of parsing one delivery: steady figures on a busy machine, for before/after.
//   node bench/writer-cpu.mjs [ROOT of a checkout to measure, default this one] [deliveries, default 20000]
import { build } from 'rolldown';
import fs from 'node:fs';
import path from 'node:path';
const [rootArg, nStr = '20000'] = process.argv.slice(2);
const root = path.resolve(rootArg ?? new URL('..', import.meta.url).pathname);
fs.mkdirSync(path.join(root, 'bench', '.build'), { recursive: true });
const out = fs.mkdtempSync(path.join(root, 'bench', '.build', 'writer-cpu-')); // node_modules resolve from there
const entry = path.join(root, 'bench', '.wab-entry.ts');
fs.writeFileSync(entry, `export { openDatabase } from '../src/db/connection.js';
export { inlineWriter } from '../src/listener/intake-writer.js';
export { dmDeliveryBody } from '../src/twitter/deliveries.js';
export { seedInteraction } from '../tests/support/seed.js';
export { parseDelivery } from '../src/intake/parse.js';
`);
await build({ input: entry, platform: 'node', external: ['better-sqlite3', 'pino', 'pg', /^node:/], logLevel: 'silent', output: { dir: out, format: 'esm', entryFileNames: 'e.js' } });
fs.rmSync(entry);
const m = await import(path.join(out, 'e.js'));
const { deliveryFactory } = await import('./lib/deliveries.mjs');
const db = path.join(out, 'w.db');
const { id, secrets } = await m.seedInteraction(db);
const h = await m.openDatabase(db);
const row = h.sqlite.prepare('SELECT id, account_user_id, unit_id, group_id, activity_id, contact_origin_id, helper_interception FROM interactions WHERE id = ?').get(id);
const w = m.inlineWriter(h.sqlite, { idleMs: 1800000, tombstoneKey: Buffer.alloc(32, 7).toString('base64') });
h.sqlite.pragma('synchronous = OFF'); // CPU, not the disk
const next = deliveryFactory({ dmDeliveryBody: m.dmDeliveryBody, secret: secrets.apiSecretKey });
const N = Number(nStr);
const bodies = Array.from({ length: N }, () => next().bytes.toString('utf8'));
const at = new Date().toISOString();
const run = (from, to) => { for (let i = from; i < to; i += 40) { const r = w.write(bodies.slice(i, Math.min(to, i + 40)).map((body) => ({ interaction: row, body, at }))); if (!r.every((x) => x.ok)) throw new Error('failed'); } };
run(0, 4000); // warm-up, and the 2,000 returning senders get their tickets
const c0 = process.cpuUsage();
run(4000, N);
const c = process.cpuUsage(c0);
let p0 = process.cpuUsage(); for (const b of bodies) m.parseDelivery(b); const p = process.cpuUsage(p0);
console.log(JSON.stringify({ root, writerUsPerDelivery: +((c.user + c.system) / (N - 4000)).toFixed(1), parseUs: +((p.user + p.system) / N).toFixed(2) }));
await h.close();
fs.rmSync(out, { recursive: true, force: true });
