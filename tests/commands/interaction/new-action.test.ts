// `interaction new` on a (fake) terminal with a scripted prompter: the paths a pseudo-terminal test
// cannot reach deterministically, like another omni saving between the summary and the confirm.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import type { IO } from '../../../src/cli/io.js';
import { newAction } from '../../../src/commands/interaction/new.js';
import { openDatabase } from '../../../src/db/connection.js';
import { TEST_ENGINE, testDatabase, testSecretEnv } from '../../support/engine.js';
import { SECRETS, seedCatalogs } from '../../support/interactions.js';
import { seedInteraction } from '../../support/seed.js';
import { scriptedPrompter, type Step } from '../../support/prompter.js';

function ttyContext(dbPath: string, steps: Step[]) {
  const tty = () => Object.assign(new PassThrough(), { isTTY: true });
  const io: IO = { stdin: tty(), stdout: tty(), stderr: tty() };
  let stderr = '';
  io.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ctx = createContext({ db: dbPath, color: false }, io, testSecretEnv(dbPath));
  const prompter = scriptedPrompter(steps);
  ctx.prompter = async () => prompter;
  return { ctx, prompter, stderr: () => stderr };
}

const form = (name: string): Step[] => [
  { input: 'Name', answer: name },
  { select: 'Interaction channel', pick: '' },
  { select: 'X API generation', pick: 'premium Account Activity v1.1 (legacy)' },
  { select: 'Default unit', pick: 'HQ' },
  { select: 'Default group', pick: 'Social' },
  { select: 'Default activity', pick: 'CS › DM' },
  { select: 'Contact origin', pick: '' },
  { confirm: 'Helper', answer: false },
  { input: 'Development environment', answer: 'prod' },
  { password: 'API key', answer: SECRETS.apiKey },
  { password: 'API secret key', answer: SECRETS.apiSecretKey },
  { password: 'Access token', answer: SECRETS.accessToken },
  { password: 'Access token secret', answer: SECRETS.accessTokenSecret },
  { input: 'Callback URL', answer: 'https://h.example.com' },
];

async function interactions(dbPath: string) {
  const db = await openDatabase(dbPath);
  try {
    return await db.kysely.selectFrom('interactions').select(['id', 'name']).orderBy('id').execute();
  } finally {
    await db.close();
  }
}

describe('interaction new on a terminal', () => {
  it('never saves under another identifier than the one shown: it says so and asks again', async () => {
    const dbPath = testDatabase();
    await seedCatalogs(dbPath);
    const { ctx, prompter } = ttyContext(dbPath, [
      ...form('Mine'),
      // Another omni saves an interaction while the summary is on screen.
      { confirm: 'Save this interaction?', answer: true, before: async () => void (await seedInteraction(dbPath, { name: 'Theirs' })) },
      { confirm: 'Save this interaction?', answer: true },
    ]);
    try {
      expect(ctx.interactive).toBe(true);
      expect(await newAction(ctx, [], {})).toBe(0);
    } finally {
      await ctx.close();
    }
    // PostgreSQL's sequence keeps the id the rolled-back save took (2): the next one shown and saved is 3.
    const next = TEST_ENGINE === 'sqlite' ? 2 : 3;
    expect(prompter.notes[0]).toBe('Identifier: 1 (assigned by omni)');
    expect(prompter.notes).toContain(`another interaction took identifier 1 meanwhile; this one will be ${next}`);
    expect(prompter.notes.filter((n) => new RegExp(`^ {2}Identifier\\s+${next} \\(assigned by omni\\)$`).test(n))).toHaveLength(1);
    expect(await interactions(dbPath)).toEqual([
      { id: 1, name: 'Theirs' },
      { id: next, name: 'Mine' },
    ]);
  });

  it('saves nothing when the summary is declined (exit 1)', async () => {
    const dbPath = testDatabase();
    await seedCatalogs(dbPath);
    const { ctx, stderr } = ttyContext(dbPath, [...form('Mine'), { confirm: 'Save this interaction?', answer: false }]);
    try {
      expect(await newAction(ctx, [], {})).toBe(1);
    } finally {
      await ctx.close();
    }
    expect(stderr()).toContain('not saved');
    expect(await interactions(dbPath)).toEqual([]);
  });

  it('refuses a --name that is taken before asking anything', async () => {
    const dbPath = testDatabase();
    await seedInteraction(dbPath, { name: 'Support' });
    const { ctx, prompter } = ttyContext(dbPath, []);
    try {
      await expect(newAction(ctx, [], { name: 'Support' })).rejects.toMatchObject({ exitCode: 2, message: "an interaction named 'Support' already exists" });
    } finally {
      await ctx.close();
    }
    expect(prompter.asked).toEqual([]);
  });
});
