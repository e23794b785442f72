// Spawns the built CLI's `omni listen --port 0` on a test database and waits for the bound port.
// The reliability suite and the benchmarks reuse it: stop() is a graceful SIGTERM, kill9() a crash.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseDbLocation } from '../../src/db/location.js';
import { BIN, ROOT, cleanEnv } from './cli.js';
import { testSecretEnv } from './engine.js';
import { tempDir } from './tmp.js';

export interface RunningListener {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything written so far (stdout, NDJSON logs). */
  stdout(): string;
  stderr(): string;
  /** Parsed NDJSON log lines so far. */
  logs(): Array<Record<string, any>>;
  /** Resolves with the first log line matching, waiting for it to be written. */
  waitForLog(match: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** Sends a signal and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no chance to flush or close anything. */
  kill9(): Promise<void>;
}

export interface StartListenerOptions {
  /** The database file or URL; omitted: the CLI's default path under HOME/XDG_DATA_HOME (set them in env). A URL gets OMNI_SECRET_KEY (testSecretEnv). */
  db?: string;
  /** HOME / XDG_DATA_HOME and anything else the CLI should see. */
  env?: Record<string, string | undefined>;
  args?: string[];
  timeoutMs?: number;
}

function logsOf(out: string): Array<Record<string, any>> {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as Record<string, any>);
}

export function startListener(opts: StartListenerOptions): Promise<RunningListener> {
  const dbArgs = opts.db ? ['--db', opts.db] : [];
  const child = spawn(process.execPath, [BIN, ...dbArgs, 'listen', '--port', '0', '--log-format', 'json', ...(opts.args ?? [])], {
    cwd: ROOT,
    env: cleanEnv({ ...(opts.db ? { HOME: parseDbLocation(opts.db).engine === 'sqlite' ? path.dirname(opts.db) : tempDir(), ...testSecretEnv(opts.db) } : {}), ...opts.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let started = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`omni listen did not start within ${opts.timeoutMs ?? 10_000} ms\nstdout: ${out}\nstderr: ${err}`));
    }, opts.timeoutMs ?? 10_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/[^\s"]+)/.exec(out);
      if (m && !started) {
        started = true;
        clearTimeout(timer);
        const url = m[1]!;
        resolve({
          url,
          port: Number(new URL(url).port),
          child,
          stdout: () => out,
          stderr: () => err,
          logs: () => logsOf(out),
          waitForLog: async (match, timeoutMs = 5_000) => {
            const until = Date.now() + timeoutMs;
            for (;;) {
              const hit = logsOf(out).find(match);
              if (hit) return hit;
              if (Date.now() > until) throw new Error(`no matching log line within ${timeoutMs} ms:\n${out}`);
              await new Promise((r) => setTimeout(r, 20));
            }
          },
          stop: (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
          kill9: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`omni listen exited with ${code} before listening\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}
