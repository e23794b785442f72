// The README's Quick start, run as the README gives it: every command of its code block, by a shell,
// with a bare `omni` on PATH (as `npm link` gives one), on a fresh database, with no terminal (so the
// credentials come from the environment, as the README tells scripts to do). It must end green:
// `omni doctor --offline` exits 0, and the comments the README prints beside the commands are what
// they print.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, ROOT, cleanEnv } from '../support/cli.js';
import { closedPort } from '../support/doctor.js';
import { tempDir } from '../support/tmp.js';

interface Step {
  command: string;
  /** The README's comment after the command, if any. */
  comment?: string;
}

/** The commands of the first ```sh block under "## Quick start": continuations joined, comments apart. */
function quickStart(readme: string): Step[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  if (!section) throw new Error('README.md has no "## Quick start" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('the Quick start has no ```sh block');
  const steps: Step[] = [];
  let pending = '';
  for (const raw of block.split('\n')) {
    const line = pending + raw;
    if (line.endsWith('\\')) {
      pending = `${line.slice(0, -1)}`;
      continue;
    }
    pending = '';
    const m = /^(.*?)(?:\s+#\s+(.*))?$/.exec(line.trim())!;
    if (m[1]) steps.push({ command: m[1].replace(/\s+/g, ' '), ...(m[2] ? { comment: m[2] } : {}) });
  }
  return steps;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function sh(command: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let listener: ChildProcess | undefined;
afterEach(async () => {
  if (listener && listener.exitCode === null && listener.signalCode === null) {
    const exited = new Promise((resolve) => listener!.on('exit', resolve));
    listener.kill('SIGTERM');
    await exited;
  }
  listener = undefined;
});

describe('README Quick start', () => {
  it('runs as written on a fresh database and ends with omni doctor --offline exiting 0', async () => {
    const steps = quickStart(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    // Everything in the block is an omni command (nothing is skipped here because it is something else).
    expect(steps.filter((s) => !s.command.startsWith('omni '))).toEqual([]);
    expect(steps.at(-1)!.command).toBe('omni doctor --offline');
    expect(steps.some((s) => s.command === 'omni listen')).toBe(true);

    const dir = tempDir();
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'omni'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
    const env = cleanEnv({
      PATH: `${bin}:${process.env.PATH}`,
      HOME: dir,
      XDG_DATA_HOME: path.join(dir, 'xdg'),
      OMNI_DB: path.join(dir, 'try.db'),
      // The listener's port, through the variable the README documents (8080 may be taken here).
      OMNI_PORT: String(await freePort()),
      // Nothing here may reach X: the API points at a closed port.
      OMNI_TWITTER_API_URL: `http://127.0.0.1:${await closedPort()}`,
      // What the README tells a script to export before `omni interaction new`.
      OMNI_TWITTER_API_KEY: 'quick-start-key',
      OMNI_TWITTER_API_SECRET: 'quick-start-secret',
      OMNI_TWITTER_ACCESS_TOKEN: 'quick-start-token',
      OMNI_TWITTER_ACCESS_TOKEN_SECRET: 'quick-start-token-secret',
    });

    const outputs = new Map<string, { code: number | null; stdout: string; stderr: string }>();
    for (const step of steps) {
      if (step.command === 'omni listen') {
        // "in another terminal": started in the background, and waited for until it listens.
        const child = spawn('/bin/sh', ['-c', `exec ${step.command}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        listener = child;
        let out = '';
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`omni listen did not start:\n${out}`)), 15_000);
          child.stdout!.setEncoding('utf8').on('data', (d: string) => {
            out += d;
            if (out.includes(`listening on http://127.0.0.1:${env.OMNI_PORT}`)) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.on('exit', (code) => reject(new Error(`omni listen exited with ${code}:\n${out}`)));
        });
        continue;
      }
      const result = await sh(step.command, env);
      outputs.set(step.command, result);
      expect({ command: step.command, code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ command: step.command, code: 0, stderr: '' });
    }

    const simulate = [...outputs].find(([c]) => c.startsWith('omni simulate dm'))![1];
    expect(simulate.stdout).toContain('new ticket: ticket #1 message_create from @alice');
    const tickets = outputs.get('omni ticket list')!;
    expect(tickets.stdout).toMatch(/^1\s+open\s+1 Support\s+@alice\s+1\s+.*my order did not arrive$/m);

    // The doctor's last line is the one the README shows beside it.
    const doctor = outputs.get('omni doctor --offline')!;
    const summary = doctor.stdout.trimEnd().split('\n').at(-1);
    expect(summary).toBe(steps.at(-1)!.comment);
    expect(doctor.stdout).not.toContain('✗');
    expect(doctor.stdout).toMatch(/^ {2}! parameter 447 .*\[param-447\]$/m);
  }, 120_000); // some twenty spawned commands, each a Node start-up
});
