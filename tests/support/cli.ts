// Runs the built CLI (bin/omni.js → dist/) as a child process with no TTY, as a script or CI would.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { keyFilePath } from '../../src/secrets.js';
import { TEST_ENGINE, TEST_SECRET_KEY, separateTestDatabase, testDatabase } from './engine.js';
import { tempDir } from './tmp.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'omni.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** Environment with no OMNI_* leaking in from the developer's shell. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('OMNI_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR') env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: cleanEnv(opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * A CLI bound to its own database: `await omni('unit', 'add', 'HQ')`. A temp file on SQLite; in the
 * PostgreSQL project the test's own database, with the key file where omni looks for it on that host.
 * `env` is what `run` passes (HOME, XDG_*, the extra variables), for a CLI started another way (a pty).
 */
export function cliWithDb(extraEnv: Record<string, string | undefined> = {}) {
  const dir = tempDir();
  return cliOn(dir, testDatabase(dir), extraEnv);
}

/** cliWithDb on a database no other CLI of this test uses, for a test that sets up several installations. */
export async function cliWithSeparateDb(extraEnv: Record<string, string | undefined> = {}) {
  const dir = tempDir();
  return cliOn(dir, await separateTestDatabase(dir), extraEnv);
}

function cliOn(dir: string, db: string, extraEnv: Record<string, string | undefined>) {
  const base: Record<string, string> = { HOME: dir, XDG_DATA_HOME: path.join(dir, 'xdg') };
  if (TEST_ENGINE === 'postgres') {
    base.XDG_CONFIG_HOME = path.join(dir, 'config');
    const keyFile = keyFilePath(db, base);
    fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(keyFile, TEST_SECRET_KEY + '\n', { mode: 0o600 });
  }
  const run = (args: string[], opts: CliOptions = {}) =>
    runCli(['--db', db, ...args], { ...opts, env: { ...base, ...extraEnv, ...opts.env } });
  return { dir, db, run, env: { ...base, ...extraEnv } as Record<string, string> };
}
