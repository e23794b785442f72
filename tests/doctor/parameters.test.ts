// The parameter checks in process, on a real database: a parameter omni only stores never fails
// the doctor, and a parameter omni acts on fails with a fix that runs as printed.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { parameterCheck } from '../../src/doctor/global-checks.js';
import type { DoctorDeps } from '../../src/doctor/model.js';
import { runDoctor } from '../../src/doctor/run.js';
import { PARAMS } from '../../src/parameters.js';
import { keyFilePath, loadSecretBox } from '../../src/secrets.js';
import { BIN, cleanEnv } from '../support/cli.js';
import { handEdit, seedSmartchat } from '../support/doctor.js';
import { seedInteraction } from '../support/seed.js';
import { tempDir } from '../support/tmp.js';
import { TEST_ENGINE, testDatabase, testSecretEnv } from '../support/engine.js';

const opened: Db[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

function deps(dbPath: string): DoctorDeps {
  return {
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
  };
}

/** Runs only the parameter checks of `numbers`; returns the report and its parameter lines. */
async function check(dbPath: string, numbers: readonly number[]) {
  const report = await runDoctor(deps(dbPath), { offline: true, checks: { global: numbers.map(parameterCheck), interaction: [] } });
  return { ok: report.ok, byId: Object.fromEntries(report.checks.filter((c) => c.id.startsWith('param-')).map((c) => [c.id, c])) };
}

const STORED_ONLY = PARAMS.filter((p) => !p.acted).map((p) => p.number);
const ACTED_ON = [118, 315, 317, 390];

describe(`doctor parameter checks on ${TEST_ENGINE}`, () => {
  it('only warns on a parameter omni does not act on, set or not, and passes it when set', async () => {
    expect(STORED_ONLY).toContain(447);
    const dbPath = testDatabase();
    await seedSmartchat(dbPath, { 447: null });

    const unset = await check(dbPath, STORED_ONLY);
    expect(unset.ok).toBe(true);
    for (const n of STORED_ONLY) {
      const def = PARAMS.find((p) => p.number === n)!;
      expect(unset.byId[`param-${n}`]).toMatchObject({ status: 'warn', detail: `not set (${def.use})` });
      expect(unset.byId[`param-${n}`]!.fix).toMatch(new RegExp(`^nothing to do for omni; only if 4biz itself needs it: omni param set ${n} <`));
    }
    expect(unset.byId['param-447']!.detail).toBe('not set (stored; omni sends no e-mail)');

    // 389 takes a group: one that is gone only warns too, with a real group to point at.
    await handEdit(dbPath, "INSERT INTO parameters (number, value, updated_at) VALUES (447, '12', '2026-01-01T00:00:00.000Z'), (389, '99', '2026-01-01T00:00:00.000Z')");
    const set = await check(dbPath, [447, 389]);
    expect(set.ok).toBe(true);
    expect(set.byId['param-447']).toMatchObject({ status: 'pass', detail: '12 (stored; omni sends no e-mail)' });
    expect(set.byId['param-389']).toMatchObject({ status: 'warn', detail: '99, but there is no group 99 (omni group list) (stored, not acted on)', fix: 'omni param set 389 Social' });
  });

  it('fails on an unset parameter omni acts on, with a fix that runs as printed and makes it pass', async () => {
    const dir = tempDir();
    const dbPath = testDatabase(dir);
    // Nothing but what every database starts with: the contact origins.
    const fresh = await check(dbPath, ACTED_ON);
    expect(fresh.ok).toBe(false);
    const fixes = Object.fromEntries(ACTED_ON.map((n) => [n, fresh.byId[`param-${n}`]!]));
    expect(fixes[118]).toMatchObject({ status: 'fail', detail: 'not set, and there is no contract yet', fix: 'omni contract add "Standard support" && omni param set 118 "Standard support"' });
    expect(fixes[315]).toMatchObject({ status: 'fail', detail: 'not set', fix: 'omni param set 315 Twitter (or another of: omni origin list)' });
    expect(fixes[317]).toMatchObject({
      status: 'fail',
      fix: 'omni portfolio add "Customer Service" && omni activity add "Twitter DM request" --portfolio "Customer Service" && omni param set 317 "Twitter DM request"',
    });
    expect(fixes[390]).toMatchObject({ status: 'fail', fix: 'omni unit add Headquarters && omni param set 390 Headquarters' });

    // Each fix, run by a shell exactly as printed (up to a parenthesised remark), with `omni` on PATH.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'omni'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
    const env = cleanEnv({ OMNI_DB: dbPath, ...testSecretEnv(dbPath), PATH: `${bin}:${process.env.PATH}`, HOME: dir });
    for (const n of ACTED_ON) {
      const command = fixes[n]!.fix!.replace(/ \(or another of: .*\)$/, '');
      await promisify(execFile)('/bin/sh', ['-c', command], { env });
    }
    const after = await check(dbPath, ACTED_ON);
    expect(after.ok).toBe(true);
    expect(Object.values(after.byId).map((c) => [c.id, c.status, c.detail])).toEqual([
      ['param-118', 'pass', '1 (Standard support)'],
      ['param-315', 'pass', '4 (Twitter)'],
      ['param-317', 'pass', '1 (Twitter DM request, portfolio Customer Service)'],
      ['param-390', 'pass', '1 (Headquarters)'],
    ]);
  }, 60_000); // seven spawned commands

  it('names the entry the interactions use, and an id when an activity name is in two portfolios', async () => {
    const dbPath = testDatabase();
    await seedSmartchat(dbPath, { 317: null, 390: null, 118: '77' });
    const { id } = await seedInteraction(dbPath);
    await handEdit(
      dbPath,
      [
        "INSERT INTO units (name, created_at) VALUES ('Branch office', '2026-01-01T00:00:00.000Z')",
        `UPDATE interactions SET unit_id = (SELECT id FROM units WHERE name = 'Branch office') WHERE id = ${id}`,
        "INSERT INTO portfolios (name, created_at) VALUES ('Sales', '2026-01-01T00:00:00.000Z')",
        "INSERT INTO activities (name, portfolio_id, created_at) VALUES ('DM', (SELECT id FROM portfolios WHERE name = 'Sales'), '2026-01-01T00:00:00.000Z')",
      ].join('; '),
    );
    const report = await check(dbPath, [118, 317, 390]);
    expect(report.ok).toBe(false);
    expect(report.byId['param-118']).toMatchObject({ status: 'fail', detail: '77, but there is no contract 77 (omni contract list)', fix: 'omni param set 118 Standard' });
    expect(report.byId['param-317']!.fix).toBe('omni param set 317 1 (DM, portfolio CS; or another of: omni activity list)');
    // HQ comes first in `omni unit list`, but the interaction uses the branch office.
    expect(report.byId['param-390']!.fix).toBe('omni param set 390 "Branch office" (or another of: omni unit list)');
  });
});
