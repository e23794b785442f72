// Runs the built CLI inside a real pseudo-terminal, as a person at a terminal would, with no native
// node module: python3's pty module forks the child on a pty and relays bytes both ways.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { BIN, ROOT, cleanEnv } from './cli.js';

const RELAY = String.raw`
import fcntl, os, pty, select, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    # A fixed size so prompts never wrap differently from one machine to the next.
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 50, 200, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
fds = [fd, 0]
while True:
    ready, _, _ = select.select(fds, [], [])
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 65536)
        if not data:
            fds.remove(0)
        else:
            while data:
                data = data[os.write(fd, data):]
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
`;

// CSI and OSC sequences and charset switches: what a terminal interprets instead of showing.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[()][0-9A-Za-z]|\u001b[=>78]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '').replace(/\r/g, '');
}

export const KEY = {
  enter: '\r',
  down: '\u001b[B',
  up: '\u001b[A',
} as const;

export interface PtySession {
  /** Everything the terminal received, raw (escape sequences included). */
  readonly raw: string;
  /** What a reader would see, escape sequences removed. */
  readonly text: string;
  /** Waits until `expected` appears after the previous match; returns the text up to it. */
  waitFor(expected: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Waits for `expected`, then types `keys`. */
  answer(expected: string | RegExp, keys: string): Promise<void>;
  write(keys: string): void;
  exit: Promise<number | null>;
}

export function runInPty(args: string[], env: Record<string, string | undefined> = {}): PtySession {
  const child: ChildProcessWithoutNullStreams = spawn('python3', ['-c', RELAY, process.execPath, BIN, ...args], {
    cwd: ROOT,
    env: cleanEnv({ TERM: 'xterm-256color', COLUMNS: '200', LINES: '50', ...env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  let mark = 0;
  let relayErr = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    raw += d;
    for (const w of waiters) w();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (relayErr += d));
  const exit = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      for (const w of waiters) w();
      resolve(code);
    });
  });
  let exited = false;
  void exit.then(() => (exited = true));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exit.then(() => clearTimeout(killer));

  const session: PtySession = {
    get raw() {
      return raw;
    },
    get text() {
      return stripAnsi(raw);
    },
    waitFor(expected, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const text = stripAnsi(raw);
          const rest = text.slice(mark);
          let end = -1;
          if (typeof expected === 'string') {
            const i = rest.indexOf(expected);
            if (i >= 0) end = i + expected.length;
          } else {
            const m = expected.exec(rest);
            if (m) end = m.index + m[0].length;
          }
          if (end >= 0) {
            done();
            const seen = rest.slice(0, end);
            mark += end;
            resolve(seen);
            return;
          }
          if (exited) {
            done();
            reject(new Error(`the CLI exited before showing ${String(expected)}; screen after the last match:\n${rest}${relayErr ? `\nrelay: ${relayErr}` : ''}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(expected)}; screen after the last match:\n${stripAnsi(raw).slice(mark)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async answer(expected, keys) {
      await session.waitFor(expected);
      session.write(keys);
    },
    write(keys) {
      child.stdin.write(keys);
    },
    exit,
  };
  return session;
}
