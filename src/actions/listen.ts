// `omni listen`: opens the database, starts the HTTP listener and serves until SIGINT/SIGTERM.
import type { Context } from '../context.js';
import { OmniError, UsageError } from '../errors.js';

interface ListenOptions {
  port?: string;
  host?: string;
  logFormat?: 'pretty' | 'json';
  grace?: string;
}

/** The listener waits at most this long for a lock held by another process, then answers 503:
 *  Twitter gives up on a delivery after 3 s and retries it, so waiting longer gains nothing. */
const LISTENER_BUSY_TIMEOUT_MS = 2_000;

export function parsePort(value: string, source: string): number {
  if (!/^\d{1,5}$/.test(value.trim()) || Number(value) > 65535) {
    throw new UsageError(`${source} must be a port number from 0 to 65535, not '${value}'`, 'example: --port 8080 (0 picks a free port)');
  }
  return Number(value);
}

export async function listenAction(ctx: Context, _args: [], opts: ListenOptions): Promise<number> {
  const port = opts.port !== undefined ? parsePort(opts.port, '--port') : ctx.env.OMNI_PORT ? parsePort(ctx.env.OMNI_PORT, 'OMNI_PORT') : 8080;
  const host = opts.host ?? (ctx.env.OMNI_HOST || '127.0.0.1');
  const graceSeconds = Number(opts.grace ?? '10');
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw new UsageError(`--grace must be a number of seconds, not '${opts.grace}'`);
  const format = opts.logFormat ?? (ctx.stdoutIsTTY ? 'pretty' : 'json');

  const db = await ctx.db();
  db.sqlite.pragma(`busy_timeout = ${LISTENER_BUSY_TIMEOUT_MS}`);
  const box = await ctx.secrets();
  const [{ startListener }, { serveUntilSignal }, logs, { startWorkerWriter }] = await Promise.all([
    import('../listener/server.js'),
    import('../listener/shutdown.js'),
    import('../listener/log.js'),
    import('../listener/intake-writer.js'),
  ]);
  // A closed log pipe (`omni listen | head`, a log collector restarting) must not stop the intake:
  // losing log lines is bad, losing DMs is worse.
  ctx.io.stdout.on('error', () => undefined);
  const log = format === 'json' ? logs.createJsonLog(ctx.io.stdout) : logs.createPrettyLog(ctx.out, ctx.color);

  // Write transactions run on a worker thread with its own connection: the event loop keeps
  // serving while COMMIT fsyncs. This module is bundled into dist/chunks/, the worker into dist/.
  const writer = await startWorkerWriter({
    workerUrl: new URL('../intake-worker.js', import.meta.url),
    dbPath: db.path,
    busyTimeoutMs: LISTENER_BUSY_TIMEOUT_MS,
    onExit: (err) => log.error('the intake writer thread stopped; starting it again', err),
  });
  let listener;
  try {
    listener = await startListener({ sqlite: db.sqlite, box, log, host, port, dbPath: db.path, writer });
  } catch (err) {
    await writer.close(); // a live thread would keep the process from exiting
    throw listenError(err, host, port);
  }
  await serveUntilSignal(listener, log, graceSeconds * 1000);
  return 0;
}

function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new OmniError(`port ${port} on ${host} is already in use`, { hint: 'is another omni listen running? choose another with --port or OMNI_PORT', cause: err });
  }
  if (code === 'EACCES') {
    return new OmniError(`not allowed to listen on ${host}:${port}`, { hint: 'ports below 1024 need privileges: use --port 8080 behind a reverse proxy (docs/reverse-proxy.md)', cause: err });
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new OmniError(`cannot listen on ${host}: no such local address`, { hint: 'use --host 127.0.0.1 (local) or 0.0.0.0 (all interfaces)', cause: err });
  }
  return err;
}
