// SIGINT/SIGTERM: stop accepting, let in-flight deliveries finish (their transaction commits and
// they are answered) within a grace period, then return so the caller closes the database and
// exits 0. A second signal during the grace period drops the remaining connections at once.
import type { Listener } from './server.js';
import type { ListenerLog } from './log.js';

export const DEFAULT_GRACE_MS = 10_000;

export function serveUntilSignal(listener: Listener, log: ListenerLog, graceMs = DEFAULT_GRACE_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn(`${signal} again: dropping the connections still open`);
        listener.close(0).catch(() => undefined);
        return;
      }
      stopping = true;
      log.info(`${signal}: shutting down (finishing in-flight deliveries, at most ${graceMs / 1000}s)`);
      listener
        .close(graceMs)
        .then(({ forced }) => {
          const s = listener.committer.stats;
          log.info(forced ? 'stopped; connections still open at the deadline were dropped' : 'stopped', {
            deliveriesCommitted: s.jobs,
            batches: s.batches,
            largestBatch: s.largestBatch,
          });
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve();
        }, reject);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
