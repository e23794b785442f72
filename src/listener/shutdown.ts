// SIGINT/SIGTERM: stop accepting, let in-flight deliveries finish (their transaction commits and
// they are answered) within a grace period, then return so the caller closes the database and
// exits 0. A second signal during the grace period drops the remaining connections at once.
import type http from 'node:http';
import type { GroupCommitStats } from './group-commit.js';
import type { ListenerLog } from './log.js';

/** What shutting down needs of the listener (src/listener/server.ts). */
export interface Closable {
  close(graceMs: number): Promise<{ forced: boolean }>;
  readonly committer: { readonly stats: GroupCommitStats };
}

/**
 * Stops accepting, closes idle keep-alive connections, and waits up to graceMs for the requests in
 * flight; then drops the connections still open. `forced`: some were dropped.
 */
export async function closeServer(server: http.Server, graceMs: number): Promise<{ forced: boolean }> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const first = await Promise.race([closed.then(() => 'closed' as const), deadline]);
  clearTimeout(timer);
  if (first === 'timeout') {
    server.closeAllConnections();
    await closed;
  }
  return { forced: first === 'timeout' };
}

export const DEFAULT_GRACE_MS = 10_000;

export interface SignalCatcher {
  /** Settles with the first SIGINT/SIGTERM received since catchSignals() was called. */
  readonly first: Promise<NodeJS.Signals>;
  /** Called for every further signal. */
  onRepeat(handler: (signal: NodeJS.Signals) => void): void;
  /** Gives the signals back to Node's default (kill the process). */
  release(): void;
}

/**
 * Installed before the listener binds its port, so a SIGTERM that arrives right after "Ready!" is
 * printed (systemd stopping a unit it just started, a test, an impatient admin) is an orderly
 * shutdown and not a kill in the middle of start-up.
 */
export function catchSignals(): SignalCatcher {
  let received: NodeJS.Signals | undefined;
  let settle!: (signal: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((resolve) => (settle = resolve));
  const release = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  // Until serving starts, a second signal means "stop now": a start-up that hangs (a database lock,
  // a slow disk) must still die on the second Ctrl-C, as it would have without us.
  let repeat = (signal: NodeJS.Signals) => {
    release();
    process.kill(process.pid, signal);
  };
  function onSignal(signal: NodeJS.Signals) {
    if (received) return repeat(signal);
    received = signal;
    settle(signal);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { first, onRepeat: (handler) => void (repeat = handler), release };
}

export async function serveUntilSignal(listener: Closable, log: ListenerLog, signals: SignalCatcher, graceMs = DEFAULT_GRACE_MS): Promise<void> {
  const signal = await signals.first;
  signals.onRepeat((again) => {
    log.warn(`${again} again: dropping the connections still open`);
    listener.close(0).catch(() => undefined);
  });
  log.info(`${signal}: shutting down (finishing in-flight deliveries, at most ${graceMs / 1000}s)`);
  const { forced } = await listener.close(graceMs);
  const s = listener.committer.stats;
  log.info(forced ? 'stopped; connections still open at the deadline were dropped' : 'stopped', {
    deliveriesCommitted: s.jobs,
    batches: s.batches,
    largestBatch: s.largestBatch,
  });
}
