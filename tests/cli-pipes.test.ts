// `omni … | head -1`: a reader that goes away ends the command quietly, as `git log | head` does.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, cleanEnv, cliWithDb } from './support/cli.js';

/** Runs omni with a stdout whose reader has already gone: every write fails with EPIPE. */
function runWithClosedStdout(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

describe('a closed stdout', () => {
  it('ends --help, a table and a JSON dump quietly, with no stack trace', async () => {
    const { db, run } = cliWithDb();
    expect((await run(['unit', 'add', 'HQ'])).code).toBe(0);
    for (const args of [['--help'], ['--db', db, 'unit', 'list'], ['--db', db, 'audit', '--json'], ['ticket', '--help']]) {
      const r = await runWithClosedStdout(args, { HOME: db + '.home' });
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
    }
  });
});
