import { describe, expect, it } from 'vitest';
import { cliWithDb } from '../../support/cli.js';

describe('omni audit (spawned CLI, no TTY)', () => {
  it('lists catalog and parameter changes newest first, filtered by entity, id and limit', async () => {
    const { run } = cliWithDb();
    const empty = await run(['audit']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain('no audit records yet');

    await run(['unit', 'add', 'Headquarters']);
    await run(['group', 'add', 'Social']);
    await run(['param', 'set', '390', 'Headquarters']);
    await run(['unit', 'add', 'Branch']);

    const all = await run(['audit', '--json']);
    expect(all.code).toBe(0);
    const records = JSON.parse(all.stdout) as Array<Record<string, unknown>>;
    expect(records.map((r) => [r.entity, r.entityId, r.action])).toEqual([
      ['unit', '2', 'create'],
      ['parameter', '390', 'set'],
      ['group', '1', 'create'],
      ['unit', '1', 'create'],
    ]);
    expect(records[1]).toMatchObject({ changes: { value: { from: null, to: '1' } }, actor: expect.any(String) });
    expect(Object.keys(records[0]!).sort()).toEqual(['action', 'actor', 'at', 'changes', 'entity', 'entityId', 'id']);
    expect(new Date(records[0]!.at as string).toISOString()).toBe(records[0]!.at);

    const units = JSON.parse((await run(['audit', '--entity', 'unit', '--id', '1', '--json'])).stdout);
    expect(units).toEqual([expect.objectContaining({ entity: 'unit', entityId: '1', changes: { name: 'Headquarters' } })]);
    const latest = JSON.parse((await run(['audit', '--limit', '1', '--json'])).stdout);
    expect(latest.map((r: { entityId: string }) => r.entityId)).toEqual(['2']);

    const table = await run(['audit', '--entity', 'parameter']);
    expect(table.stdout.split('\n')[0]).toMatch(/^TIME\s+ACTOR\s+ENTITY\s+ID\s+ACTION\s+CHANGES$/);
    expect(table.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\S+\s+parameter\s+390\s+set\s+value: \(none\) → 1$/m);

    const none = await run(['audit', '--entity', 'interaction']);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no audit records match');
  });

  it('refuses a bad --limit or --entity with exit 2', async () => {
    const { run } = cliWithDb();
    const limit = await run(['audit', '--limit', '0']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--limit must be a positive integer');
    const entity = await run(['audit', '--entity', 'tweet']);
    expect(entity.code).toBe(2);
    expect(entity.stderr).toContain('Allowed choices are interaction, unit, group, portfolio, activity, origin, contract, parameter, ticket, requester, setting');
  });
});
