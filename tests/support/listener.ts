// Spawns the built CLI's `omni listen --port 0` on a test database and waits for the bound port.
// The reliability suite and the benchmarks reuse it: stop() is a graceful SIGTERM, kill9() a crash.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { BIN, ROOT, cleanEnv } from './cli.js';

export interface RunningListener {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything written so far (stdout, NDJSON logs). */
  stdout(): string;
  stderr(): string;
  /** Parsed NDJSON log lines so far. */
  logs(): Array<Record<string, any>>;
  /** Sends a signal and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no chance to flush or close anything. */
  kill9(): Promise<void>;
}

export interface StartListenerOptions {
  db: string;
  /** HOME / XDG_DATA_HOME and anything else the CLI should see. */
  env?: Record<string, string | undefined>;
  args?: string[];
  timeoutMs?: number;
}

export function startListener(opts: StartListenerOptions): Promise<RunningListener> {
  const child = spawn(process.execPath, [BIN, '--db', opts.db, 'listen', '--port', '0', '--log-format', 'json', ...(opts.args ?? [])], {
    cwd: ROOT,
    env: cleanEnv({ HOME: path.dirname(opts.db), ...opts.env }),
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
          logs: () =>
            out
              .split('\n')
              .filter((l) => l.startsWith('{'))
              .map((l) => JSON.parse(l) as Record<string, any>),
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
