// `omni interaction authorize` as a person runs it: the spawned CLI prints X's authorize URL on a
// line of its own; `browse` is the browser (open the URL, follow X's redirect to the loopback
// receiver). Shared by the authorize tests and the end-to-end journeys.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { BIN, ROOT, cleanEnv } from './cli.js';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Running {
  /** The first stderr line that is a URL. */
  url: Promise<string>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stderr: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

export function startCli(db: string, args: string[], env: Record<string, string>, input = ''): Running {
  const child = spawn(process.execPath, [BIN, '--db', db, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let found: (u: string) => void;
  const url = new Promise<string>((r) => (found = r));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    const line = stderr.split('\n').find((l) => /^https?:\/\//.test(l));
    if (line) found(line);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  child.stdin.end(input);
  return { url, done, stderr: () => stderr, kill: (s) => child.kill(s) };
}

/** What the browser does: open the URL, follow X's 302 to the loopback receiver. */
export async function browse(url: string): Promise<{ status: number; page: string }> {
  const x = await fetch(url, { redirect: 'manual' });
  await x.text();
  const location = x.headers.get('location');
  if (!location) return { status: x.status, page: '' };
  const back = await fetch(location);
  return { status: back.status, page: await back.text() };
}

