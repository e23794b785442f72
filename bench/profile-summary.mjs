// Summarises a .cpuprofile: self time per function (top N) and per script, so a profile taken with
// `node bench/run.mjs --cpu-prof DIR` can be read without DevTools.
//   node bench/profile-summary.mjs FILE.cpuprofile [N]
import fs from 'node:fs';

const [file, top = '30'] = process.argv.slice(2);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map();
const script = new Map();
for (const [id, us] of self) {
  const { callFrame: c } = byId.get(id);
  const where = c.url ? c.url.replace(/^.*\/(node_modules\/[^/]+|dist|src)\//, '$1/') : '(native)';
  const key = `${c.functionName || '(anonymous)'}  ${where}:${c.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  script.set(where, (script.get(where) ?? 0) + us);
}
const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5) + '%';
console.log(`total sampled: ${(total / 1e6).toFixed(2)} s`);
console.log('\nby function (self):');
for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(pct(us), k);
console.log('\nby script (self):');
for (const [k, us] of [...script].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(pct(us), k);
