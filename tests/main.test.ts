// Conventions every command shares: help, version, exit codes, stack traces, colour, stdout vs stderr.
import fs from 'node:fs';
import path from 'node:path';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { describe, expect, it } from 'vitest';
import { buildProgram, main } from '../src/main.js';
import type { IO } from '../src/cli/io.js';
import { ROOT, cliWithDb, runCli } from './support/cli.js';

const ESC = '\u001b[';

/** In-process IO that only records: help never reads stdin nor opens the database. */
function memoryIO() {
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') => ({ write: (s: string) => ((out[key] += s), true), isTTY: false });
  const io = { stdin: { isTTY: false }, stdout: sink('stdout'), stderr: sink('stderr') } as unknown as IO;
  return { io, out };
}

/** Every command path, e.g. ['param', 'set'], groups included. */
function commandPaths(cmd: CommandUnknownOpts, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((sub) => {
    const p = [...prefix, sub.name()];
    return [p, ...commandPaths(sub, p)];
  });
}

describe('omni --help and --version', () => {
  it('lists the commands and the exit codes, on stdout, exit 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const cmd of ['param', 'audit', 'db', 'unit', 'contract']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    expect(r.stdout).toContain('Exit codes:');
    expect(r.stdout).toMatch(/^ {2}0 {2}success$/m);
    expect(r.stdout).toMatch(/^ {2}1 {2}failure/m);
    expect(r.stdout).toMatch(/^ {2}2 {2}usage or validation error$/m);
    expect(r.stdout).toMatch(/^ {2}4 {2}input needed but not interactive/m);
  });

  it('prints the version of package.json', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('ends every command\'s --help with examples', async () => {
    const paths = commandPaths(buildProgram(memoryIO().io, {}, { exitCode: 0 }));
    expect(paths).toContainEqual(['param', 'set']);
    for (const p of paths) {
      const { io, out } = memoryIO();
      const code = await main(['node', 'omni', ...p, '--help'], io, {});
      expect(code, p.join(' ')).toBe(0);
      expect(out.stdout, `omni ${p.join(' ')} --help`).toMatch(/\nExamples:\n( {2}#.*\n)* {2}\$ omni /);
    }
  });
});

describe('omni help <command> at any depth', () => {
  async function run(...args: string[]) {
    const { io, out } = memoryIO();
    const code = await main(['node', 'omni', ...args], io, {});
    return { code, ...out };
  }

  it('prints the help of the verb named, as --help on it does (not the noun\'s)', async () => {
    const viaHelp = await run('help', 'ticket', 'reply');
    const viaFlag = await run('ticket', 'reply', '--help');
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(/^Usage: omni ticket reply \[options\] <id> \[text\]/);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    expect(viaHelp.stderr).toBe('');
    // Aliases resolve like on the command line; one level and none work too.
    expect((await run('help', 'interaction', 'ls')).stdout).toBe((await run('interaction', 'list', '--help')).stdout);
    expect((await run('help', 'param')).stdout).toBe((await run('param', '--help')).stdout);
    expect((await run('help')).stdout).toBe((await run('--help')).stdout);
  });

  it('refuses an unknown command with exit 2, naming what exists at that level', async () => {
    const verb = await run('help', 'ticket', 'nosuch');
    expect(verb.code).toBe(2);
    expect(verb.stdout).toBe('');
    expect(verb.stderr).toBe("error: unknown command 'ticket nosuch'; omni ticket has: list, show, reply, close\n");
    const noun = await run('help', 'nosuch');
    expect(noun.code).toBe(2);
    expect(noun.stderr).toMatch(/^error: unknown command 'nosuch'; omni has: interaction, webhook, listen, .*\n$/);
    expect((await run('help', 'listen', 'now')).stderr).toBe("error: unknown command 'listen now'; omni listen has no subcommands\n");
  });
});

describe('errors and exit codes', () => {
  it('an unknown command is a usage error: exit 2, nothing on stdout', async () => {
    const r = await runCli(['nosuch']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown command 'nosuch'");
  });

  it('shows a stack trace only with --debug', async () => {
    const { run } = cliWithDb();
    const plain = await run(['unit', 'rm', 'Nowhere']);
    const debug = await run(['--debug', 'unit', 'rm', 'Nowhere']);
    for (const r of [plain, debug]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: no unit 'Nowhere'\n {2}list them with: omni unit list/);
    }
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    expect(debug.stderr).toMatch(/\n\s+at .*src\/db\/catalogs\.ts/);
  });
});

describe('colour', () => {
  // Each case prints a bold table header on stdout and a green ✓ on stderr when colour is on.
  const both = async (args: string[], env: Record<string, string>) => {
    const { run } = cliWithDb(env);
    // One after the other: two processes migrating the same fresh file at once race.
    const set = await run([...args, 'param', 'set', '450', 'Y']);
    const list = await run([...args, 'param', 'list']);
    expect(list.code).toBe(0);
    expect(set.code).toBe(0);
    return [list.stdout, set.stderr];
  };

  it('is on with FORCE_COLOR, and off with --no-color, NO_COLOR, or no TTY', async () => {
    const [forced, flag, noColor, plain] = await Promise.all([
      both([], { FORCE_COLOR: '1' }),
      both(['--no-color'], { FORCE_COLOR: '1' }),
      both([], { FORCE_COLOR: '1', NO_COLOR: '1' }),
      both([], {}),
    ]);
    // The control case: without it the three below could pass by never colouring anything.
    for (const stream of forced) expect(stream).toContain(ESC);
    for (const stream of [...flag, ...noColor, ...plain]) expect(stream).not.toContain(ESC);
  });
});
