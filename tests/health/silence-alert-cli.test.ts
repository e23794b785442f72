// The silence alert on every surface: flags (new, edit), show, apply and export; one-line refusals.
import { describe, expect, it } from 'vitest';
import { cliWithDb } from '../support/cli.js';
import { seedInteraction } from '../support/seed.js';

describe('the silence alert (--silence-alert, silenceAlert)', () => {
  it('is set and cleared with flags, shown, exported and applied; bad values are refused with the fix', async () => {
    const cli = cliWithDb();
    await seedInteraction(cli.db, { name: 'Support' });

    const bad = await cli.run(['interaction', 'edit', '1', '--silence-alert', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--silence-alert: 'soon' is not a duration like 90m, 6h or 2d");
    const short = await cli.run(['interaction', 'edit', '1', '--silence-alert', '5m']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("the silence alert '5m' is outside 10m to 30d");

    const set = await cli.run(['interaction', 'edit', '1', '--silence-alert', '360m', '--json']);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ id: 1, silenceAlert: '6h' });
    expect((await cli.run(['interaction', 'show', '1'])).stdout).toMatch(/Silence alert\s+after 6h without a DM/);
    const audit = await cli.run(['audit', '--json']);
    expect(audit.stdout).toContain('"silenceAlert"');

    const exported = await cli.run(['export']);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/silenceAlert: 6h/);

    const file = `${cli.dir}/omni.yaml`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, exported.stdout.replace('silenceAlert: 6h', 'silenceAlert: 2d'));
    const plan = await cli.run(['apply', '-f', file, '--dry-run']);
    expect(plan.stdout + plan.stderr).toContain('silenceAlert');
    const applied = await cli.run(['apply', '-f', file]);
    expect(applied.code).toBe(0);
    expect(JSON.parse((await cli.run(['interaction', 'show', '1', '--json'])).stdout)).toMatchObject({ silenceAlert: '2d' });
    writeFileSync(file, exported.stdout.replace('silenceAlert: 6h', 'silenceAlert: whenever'));
    const refused = await cli.run(['apply', '-f', file, '--dry-run']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("silenceAlert: 'whenever' is not a duration like 90m, 6h or 2d");

    const off = await cli.run(['interaction', 'edit', '1', '--silence-alert', 'off', '--json']);
    expect(JSON.parse(off.stdout)).toMatchObject({ silenceAlert: null });
  }, 60_000);
});
