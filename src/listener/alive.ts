// When this listener was last alive: a heartbeat row per listener (host name and port) in the
// database, written at start, every HEARTBEAT_MS and at a clean stop. Read once at start, before the
// first beat, it tells how long no listener answered (replay-on-start.ts). A failed beat (database
// busy) is logged once and tried again at the next one; it never stops the listener.
import os from 'node:os';
import type { Kysely } from 'kysely';
import { beat, latestHeartbeat, pruneHeartbeats, startHeartbeat, type ListenerHeartbeat } from '../db/heartbeats.js';
import type { Database } from '../db/schema.js';
import type { ListenerLog } from './log.js';

/** Every 20 s: a gap longer than a minute is then never a heartbeat merely not written yet. */
export const HEARTBEAT_MS = 20_000;
/** Rows of listeners stopped longer ago than this are removed at start (X replays 24 h at most). */
const FORGET_AFTER_MS = 30 * 24 * 3_600_000;

export interface LastAlive {
  /** The latest heartbeat of any listener on this database before this one started, if any. */
  readonly before: ListenerHeartbeat | undefined;
  /** This listener's row name. */
  readonly listener: string;
  /** The last beat, marking a clean stop. */
  stop(): Promise<void>;
}

export function listenerName(port: number): string {
  return `${os.hostname()}:${port}`;
}

export async function startLastAlive(o: { db: Kysely<Database>; port: number; log: ListenerLog; clock?: () => Date; intervalMs?: number }): Promise<LastAlive> {
  const clock = o.clock ?? (() => new Date());
  const listener = listenerName(o.port);
  const before = await latestHeartbeat(o.db);
  await startHeartbeat(o.db, listener, process.pid, clock().toISOString());
  await pruneHeartbeats(o.db, new Date(clock().getTime() - FORGET_AFTER_MS).toISOString());
  let failing = false;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = beat(o.db, listener, clock().toISOString()).then(
      () => {
        if (failing) o.log.info('heartbeat: recorded again');
        failing = false;
      },
      (err: unknown) => {
        if (!failing) o.log.warn(`heartbeat: cannot record that the listener is alive (tried again in ${Math.round((o.intervalMs ?? HEARTBEAT_MS) / 1000)} s): ${(err as Error).message}`);
        failing = true;
      },
    );
  };
  const timer = setInterval(tick, o.intervalMs ?? HEARTBEAT_MS);
  timer.unref();
  return {
    before,
    listener,
    async stop() {
      clearInterval(timer);
      await running;
      try {
        await beat(o.db, listener, clock().toISOString(), true);
      } catch (err) {
        o.log.warn(`heartbeat: cannot record the stop: ${(err as Error).message}`);
      }
    },
  };
}
