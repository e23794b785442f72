import { describe, expect, it } from 'vitest';
import { cliWithDb } from '../../support/cli.js';

describe('catalog commands (spawned CLI, no TTY)', () => {
  it('adds, lists as JSON, and removes units by name or id', async () => {
    const { run } = cliWithDb();
    const add = await run(['unit', 'add', 'Headquarters', '--json']);
    expect(add.code).toBe(0);
    const created = JSON.parse(add.stdout);
    expect(created).toMatchObject({ id: 1, name: 'Headquarters' });

    const list = await run(['unit', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: 1, name: 'Headquarters' })]);

    expect((await run(['unit', 'rm', 'Headquarters'])).code).toBe(0);
    expect(JSON.parse((await run(['unit', 'list', '--json'])).stdout)).toEqual([]);
  });

  it('refuses a duplicate name with exit 2 and a fix', async () => {
    const { run } = cliWithDb();
    await run(['group', 'add', 'Social']);
    const dup = await run(['group', 'add', 'Social']);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain("a group named 'Social' already exists");
    expect(dup.stderr).not.toContain('    at '); // no stack trace without --debug
  });

  it('keeps activities in portfolios and refuses to remove a referenced portfolio', async () => {
    const { run } = cliWithDb();
    await run(['portfolio', 'add', 'Customer Service']);
    const act = await run(['activity', 'add', 'DM request', '--portfolio', 'Customer Service', '--json']);
    expect(JSON.parse(act.stdout)).toMatchObject({ name: 'DM request', portfolio: { id: 1, name: 'Customer Service' } });
    const rm = await run(['portfolio', 'rm', 'Customer Service']);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain("referenced by activity 1 'DM request'");
    const missing = await run(['activity', 'add', 'x']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--portfolio');
  });

  it('seeds the five 4biz contact origins on first run', async () => {
    const { run } = cliWithDb();
    const origins = JSON.parse((await run(['origin', 'list', '--json'])).stdout);
    expect(origins.map((o: { name: string }) => o.name)).toEqual(['Service Desk', 'E-mail', 'Facebook', 'Twitter', 'WhatsApp']);
  });

  it('names an unknown entry and how to list them', async () => {
    const { run } = cliWithDb();
    const r = await run(['unit', 'rm', 'Nowhere']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no unit 'Nowhere'");
    expect(r.stderr).toContain('omni unit list');
  });
});

describe('catalog rm and parameters', () => {
  it('refuses to remove an entry a parameter references, until the parameter is unset', async () => {
    const { run } = cliWithDb();
    await run(['unit', 'add', 'Headquarters']);
    expect((await run(['param', 'set', '390', 'Headquarters'])).code).toBe(0);
    const refused = await run(['unit', 'rm', 'Headquarters']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("unit 1 'Headquarters' is still referenced by parameter 390");
    expect((await run(['param', 'unset', '390'])).code).toBe(0);
    expect((await run(['unit', 'rm', 'Headquarters'])).code).toBe(0);
  });
});
