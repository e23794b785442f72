// `omni doctor`: runs the checks of src/doctor/ against the real database, key, Twitter, Helper and
// callback URL, then prints them grouped (or as JSON). Exit 1 when any check failed.
import fs from 'node:fs';
import type { Context } from '../../cli/context.js';
import { runDoctor } from '../../doctor/run.js';
import type { CheckResult, CheckStatus, DoctorDeps, DoctorReport } from '../../doctor/model.js';
import { listInteractions } from '../../db/interactions.js';
import { printJson, style } from '../../cli/output.js';
import { keyFilePath } from '../../secrets.js';
import { startSpinner } from '../../cli/spinner.js';

interface DoctorOptions {
  json?: boolean;
  offline?: boolean;
}

function doctorDeps(ctx: Context): DoctorDeps {
  const fromEnv = Boolean(ctx.env.OMNI_SECRET_KEY && ctx.env.OMNI_SECRET_KEY.trim() !== '');
  const keyFile = keyFilePath(ctx.dbPath);
  return {
    db: ctx.db,
    // ctx.secrets() would create a missing key file; the doctor reports it missing instead.
    secretKey: async () => (fromEnv || fs.existsSync(keyFile) ? ctx.secrets() : null),
    secretKeySource: fromEnv ? 'OMNI_SECRET_KEY' : keyFile,
    twitter: ctx.twitter,
    fetch: globalThis.fetch,
    now: ctx.clock,
    env: ctx.env,
  };
}

export async function doctorAction(ctx: Context, [ref]: [string | undefined], opts: DoctorOptions): Promise<number> {
  const spinner = startSpinner(ctx.io.stderr, opts.offline ? 'checking (offline)' : 'checking the database, Twitter, the Helper and the callback URLs');
  let report: DoctorReport;
  try {
    report = await runDoctor(doctorDeps(ctx), { ...(ref !== undefined ? { interaction: ref } : {}), offline: Boolean(opts.offline) });
  } finally {
    spinner.stop();
  }
  if (opts.json) printJson(ctx, { ok: report.ok, checks: report.checks });
  else await printReport(ctx, report);
  return report.ok ? 0 : 1;
}

async function printReport(ctx: Context, report: DoctorReport): Promise<void> {
  const s = style(ctx);
  const marks: Record<CheckStatus, string> = { pass: s.green('✓'), fail: s.red('✗'), warn: s.yellow('!'), skip: s.dim('−') };
  // Names for the headings; the database is open whenever an interaction was checked.
  const ids = new Set(report.checks.flatMap((c) => (c.interactionId !== undefined ? [c.interactionId] : [])));
  const names = new Map<number, string>();
  if (ids.size > 0) for (const row of await listInteractions((await ctx.db()).kysely, { all: true })) if (ids.has(row.id)) names.set(row.id, row.name);

  const line = (c: CheckResult) => {
    const text = `${c.title}: ${c.detail}`;
    ctx.out(`  ${marks[c.status]} ${c.status === 'skip' ? s.dim(text) : text}  ${s.dim(`[${c.id}]`)}`);
    if (c.fix) ctx.out(`      ${s.bold('fix:')} ${c.fix}`);
  };
  const groups = new Map<string, CheckResult[]>();
  for (const c of report.checks) {
    const key = c.interactionId === undefined ? 'Global' : `Interaction ${c.interactionId} '${names.get(c.interactionId) ?? '?'}'`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const [heading, checks] of groups) {
    ctx.out(s.bold(heading));
    checks.forEach(line);
    ctx.out('');
  }
  const count = (st: CheckStatus) => report.checks.filter((c) => c.status === st).length;
  const parts = [
    [count('fail'), 'failed', s.red],
    [count('warn'), count('warn') === 1 ? 'warning' : 'warnings', s.yellow],
    [count('pass'), 'passed', s.green],
    [count('skip'), 'skipped', s.dim],
  ] as const;
  const summary = parts.filter(([n]) => n > 0).map(([n, word, paint]) => paint(`${n} ${word}`)).join(', ');
  ctx.out(report.ok ? `${s.green('✓')} ready: ${summary}` : `${s.red('✗')} not ready: ${summary}`);
}
