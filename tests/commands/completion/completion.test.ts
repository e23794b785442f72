// `omni completion bash|zsh|fish`: the generated scripts run in the real shells, completing from the
// real command tree and, for interactions, from a real SQLite database through `omni __complete`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cleanEnv, runCli } from '../../support/cli.js';
import { seedInteraction } from '../../support/seed.js';
import { tempDir } from '../../support/tmp.js';

const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

/** A temp dir holding `omni` (the built CLI) on PATH, and the generated script for `shell`. */
async function install(shell: 'bash' | 'zsh' | 'fish') {
  const dir = tempDir();
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'omni'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  const r = await runCli(['completion', shell]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  const script = path.join(dir, `omni.${shell}`);
  fs.writeFileSync(script, r.stdout);
  const env = cleanEnv({ PATH: `${bin}:${process.env.PATH}`, HOME: dir, XDG_DATA_HOME: path.join(dir, 'xdg') });
  return { dir, script, env };
}

/** What bash completes for the words typed so far (the last one is the word under the cursor). */
function bashComplete(script: string, env: Record<string, string>, words: string[]): string[] {
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; COMP_LINE="\${COMP_WORDS[*]}"; _omni_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], { env, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('omni completion', () => {
  it('bash: registers for omni and completes commands, verbs, flags, choices and aliases from the live tree', async () => {
    const { script, env } = await install('bash');
    const registered = spawnSync('bash', ['--norc', '--noprofile', '-c', `source '${script}'; complete -p omni`], { env, encoding: 'utf8' });
    expect(registered.stdout.trim()).toBe('complete -F _omni_complete omni');

    expect(bashComplete(script, env, ['omni', 'tic'])).toEqual(['ticket']);
    expect(bashComplete(script, env, ['omni', 'ticket', ''])).toEqual(['list', 'ls', 'show', 'reply', 'close', 'help']);
    expect(bashComplete(script, env, ['omni', 'param', 's'])).toEqual(['show', 'set']);
    // Global flags before the noun are skipped, with their values.
    expect(bashComplete(script, env, ['omni', '--db', '/tmp/x.db', 'outbox', 'l'])).toEqual(['list', 'ls']);
    expect(bashComplete(script, env, ['omni', 'outbox', 'list', '--st'])).toEqual(['--status']);
    expect(bashComplete(script, env, ['omni', 'outbox', 'ls', '--status', 'f'])).toEqual(['failed']);
    expect(bashComplete(script, env, ['omni', 'interaction', 'new', '--json', '--he'])).toEqual(['--helper', '--help']);
    expect(bashComplete(script, env, ['omni', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    // A flag's free value gets no suggestions (no flag names, no verbs).
    expect(bashComplete(script, env, ['omni', 'interaction', 'new', '--name', ''])).toEqual([]);
    // The hidden helper is not offered.
    expect(bashComplete(script, env, ['omni', '_'])).toEqual([]);
  });

  it('bash: completes interaction ids and names from the database, and nothing when there is none', async () => {
    const { dir, script, env } = await install('bash');
    const db = path.join(dir, 'omni.db');
    expect(bashComplete(script, env, ['omni', '--db', db, 'webhook', 'register', ''])).toEqual([]);
    expect(fs.existsSync(db)).toBe(false); // completion never creates a database

    await seedInteraction(db, { name: 'Support DMs' });
    await seedInteraction(db, { name: 'Sales' });
    expect(bashComplete(script, env, ['omni', '--db', db, 'webhook', 'register', ''])).toEqual(['1', '2', 'Support\\ DMs', 'Sales']);
    expect(bashComplete(script, { ...env, OMNI_DB: db }, ['omni', 'interaction', 'show', 'S'])).toEqual(['Support\\ DMs', 'Sales']);
    // Not for ticket numbers.
    expect(bashComplete(script, { ...env, OMNI_DB: db }, ['omni', 'ticket', 'show', ''])).toEqual([]);

    const listed = await runCli(['--db', db, '__complete', 'interactions']);
    expect(listed).toMatchObject({ code: 0, stdout: '1\n2\nSupport DMs\nSales\n', stderr: '' });
    const unreadable = await runCli(['--db', path.join(dir, 'nope', 'omni.db'), '__complete', 'interactions']);
    expect(unreadable).toMatchObject({ code: 0, stdout: '', stderr: '' });
    // Hidden from help.
    expect((await runCli(['--help'])).stdout).not.toContain('__complete');
  });

  it('zsh: the script is valid zsh and completes through bashcompinit', async (t) => {
    if (!has('zsh')) return t.skip('zsh is not installed here (apt-get install zsh); the bash tests cover the shared logic');
    const { script, env } = await install('zsh');
    const syntax = spawnSync('zsh', ['-n', script], { env, encoding: 'utf8' });
    expect(syntax.stderr).toBe('');
    expect(syntax.status).toBe(0);
    // bashcompinit calls the function with ksharrays set (0-based arrays, as in bash), as here.
    const r = spawnSync('zsh', ['-f', '-c', `source '${script}'; setopt ksharrays; COMP_WORDS=(omni tic); COMP_CWORD=1; _omni_complete; print -l -- "\${COMPREPLY[@]}"`], { env, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('ticket');
  });

  it('fish: the script is valid fish and completes verbs and flags', async (t) => {
    if (!has('fish')) return t.skip('fish is not installed here (apt-get install fish); the bash tests cover the shared logic');
    const { script, env } = await install('fish');
    const syntax = spawnSync('fish', ['-n', script], { env, encoding: 'utf8' });
    expect(syntax.stderr).toBe('');
    expect(syntax.status).toBe(0);
    const complete = (line: string) =>
      spawnSync('fish', ['--no-config', '-c', `source '${script}'; complete -C '${line}'`], { env, encoding: 'utf8' }).stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t')[0]);
    expect(complete('omni tic')).toEqual(['ticket']);
    expect(complete('omni ticket ')).toEqual(expect.arrayContaining(['list', 'show', 'reply', 'close']));
    expect(complete('omni outbox list --status f')).toContain('failed');
    expect(complete('omni param show --js')).toEqual(['--json']);
    // Interactions from the database named by --db on the line.
    const db = path.join(path.dirname(script), 'omni.db');
    await seedInteraction(db, { name: 'Support DMs' });
    expect(complete(`omni --db ${db} webhook register `)).toEqual(['1', 'Support DMs']);
  });

  it('--help says how to install it in each shell', async () => {
    const r = await runCli(['completion', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`echo 'eval "$(omni completion bash)"' >> ~/.bashrc`);
    expect(r.stdout).toContain(`echo 'eval "$(omni completion zsh)"' >> ~/.zshrc`);
    expect(r.stdout).toContain('omni completion fish > ~/.config/fish/completions/omni.fish');
    const bad = await runCli(['completion', 'tcsh']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.");
  });
});
