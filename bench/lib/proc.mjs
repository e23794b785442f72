// Spawning the servers under test: their stdout goes to a file (as it would to journald), the bound
// URL is read from the first log line, and peak memory and CPU time come from /proc.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export async function spawnServer(args, { logFile, env = {}, cwd, timeoutMs = 15_000 }) {
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', fd, 'pipe'] });
  fs.closeSync(fd);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = /listening on (http:\/\/[^\s"]+)/.exec(fs.readFileSync(logFile, 'utf8'));
    if (m) return { url: m[1], pid: child.pid, child, exited, stderr: () => stderr, stop: () => stop(child, exited) };
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} did not start: ${stderr}\n${fs.readFileSync(logFile, 'utf8')}`);
    }
    await sleep(20);
  }
}

async function stop(child, exited) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const r = await exited;
  clearTimeout(t);
  return r;
}

/** Peak resident set (VmHWM) in MB. */
export function peakRssMb(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : null;
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/**
 * CPU seconds per thread of a process: the main thread (its id is the pid), the busiest other thread
 * (under `omni listen`, the intake writer thread) and the rest together (V8's GC helpers, libuv's pool).
 */
export function threadCpuSeconds(pid) {
  const threads = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.push({ tid: Number(tid), seconds: ticks(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')) });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/** Per-thread CPU used between two threadCpuSeconds snapshots: { main, busiest, rest } in seconds. */
export function threadCpuDelta(pid, before, after) {
  const was = new Map(before.map((t) => [t.tid, t.seconds]));
  let main = 0;
  const others = [];
  for (const t of after) {
    const d = t.seconds - (was.get(t.tid) ?? 0);
    if (t.tid === pid) main = d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  return { main, busiest: others[0] ?? 0, rest: others.slice(1).reduce((a, b) => a + b, 0) };
}

function ticks(stat) {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
