// What every command action receives: its IO, environment, clock, prompter and database opener.
// Injected so actions run in tests without a terminal; nothing here imports heavy modules eagerly.
import os from 'node:os';
import path from 'node:path';
import { isPostgresUrl, parseDbLocation } from '../db/location.js';
import type { IO } from './io.js';
import type { Prompter } from './prompter.js';
import type { Db } from '../db/connection.js';
import type { SecretBox } from '../secrets.js';
import type { GatewayOptions, TwitterCredentials, TwitterGateway } from '../twitter/gateway.js';

export interface GlobalOptions {
  db?: string;
  /** PostgreSQL pool size (--db-pool-size; else OMNI_DB_POOL_SIZE). */
  dbPoolSize?: string;
  debug?: boolean;
  color?: boolean;
  input?: boolean;
}

export interface Context {
  io: IO;
  env: NodeJS.ProcessEnv;
  /** The time now; injected so tests can fix it. (`now` elsewhere in omni is a timestamp.) */
  clock: () => Date;
  /** True when we may prompt: stdin and stdout are TTYs and --no-input was not given. */
  interactive: boolean;
  /** True when stdout is a TTY (tables, spinners, pretty logs). */
  stdoutIsTTY: boolean;
  color: boolean;
  debug: boolean;
  /** The database: an absolute file path, or a postgres:// URL (password included: print `dbDisplay`). */
  dbPath: string;
  /** dbPath safe to print: the URL's password masked. */
  dbDisplay: string;
  /** OS user recorded in the audit log. */
  actor: string;
  prompter: () => Promise<Prompter>;
  /** Opens (once) and migrates the database at dbPath. */
  db: () => Promise<Db>;
  /** The AES-256-GCM box for interaction secrets (key from OMNI_SECRET_KEY or the key file). */
  secrets: () => Promise<SecretBox>;
  /**
   * A Twitter gateway for one set of credentials, against OMNI_TWITTER_API_URL (default
   * https://api.twitter.com) with OMNI_TWITTER_TIMEOUT_MS per request. twitter-api-v2 is loaded
   * only when a command talks to Twitter.
   */
  twitter: (credentials: TwitterCredentials, options?: Pick<GatewayOptions, 'editCommand'>) => Promise<TwitterGateway>;
  /** Closes what was opened; cli.ts calls it after every command. */
  close: () => Promise<void>;
  /** Writes one line of data to stdout. */
  out: (line: string) => void;
  /** Writes one line of messages to stderr. */
  err: (line: string) => void;
}

export function defaultDbPath(env: NodeJS.ProcessEnv): string {
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME.trim() !== ''
    ? env.XDG_DATA_HOME
    : path.join(env.HOME || os.homedir(), '.local', 'share');
  return path.join(dataHome, 'omni', 'omni.db');
}

/** --db, else OMNI_DB, else the default file: an absolute path, or a postgres:// URL as given. */
export function resolveDbPath(opts: GlobalOptions, env: NodeJS.ProcessEnv): string {
  const p = opts.db || env.OMNI_DB || defaultDbPath(env);
  const where = parseDbLocation(p);
  return where.engine === 'postgres' ? where.url : where.path;
}

function osUser(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username;
  } catch {
    return env.USER || env.LOGNAME || 'unknown';
  }
}

export function colorEnabled(opts: GlobalOptions, env: NodeJS.ProcessEnv, io: IO): boolean {
  if (opts.color === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(io.stdout.isTTY);
}

export function createContext(opts: GlobalOptions, io: IO, env: NodeJS.ProcessEnv = process.env): Context {
  const dbPath = resolveDbPath(opts, env);
  const dbDisplay = parseDbLocation(dbPath).display;
  let db: Promise<Db> | undefined;
  let secrets: Promise<SecretBox> | undefined;
  let prompter: Promise<Prompter> | undefined;
  const interactive = opts.input !== false && Boolean(io.stdin.isTTY) && Boolean(io.stdout.isTTY);
  const ctx: Context = {
    io,
    env,
    clock: () => new Date(),
    interactive,
    stdoutIsTTY: Boolean(io.stdout.isTTY),
    color: colorEnabled(opts, env, io),
    debug: Boolean(opts.debug),
    dbPath,
    dbDisplay,
    actor: osUser(env),
    prompter: () => {
      prompter ??= import('./prompter.js').then((m) => m.createPrompter(io));
      return prompter;
    },
    db: () => {
      db ??= import('../db/connection.js').then((m) => m.openDatabase(dbPath, isPostgresUrl(dbPath) ? { poolSize: m.poolSizeFrom(opts.dbPoolSize, env) } : {}));
      return db;
    },
    secrets: () => {
      secrets ??= import('../secrets.js').then((m) => m.loadSecretBox(dbPath, env));
      return secrets;
    },
    twitter: async (credentials, options) => {
      const m = await import('../twitter/gateway.js');
      return m.createTwitterGateway(credentials, { baseUrl: m.apiBaseUrl(env), timeoutMs: m.apiTimeoutMs(env), ...options });
    },
    close: async () => {
      if (!db) return;
      const opened = await db.catch(() => undefined);
      db = undefined;
      await opened?.close();
    },
    out: (line) => {
      io.stdout.write(line + '\n');
    },
    err: (line) => {
      io.stderr.write(line + '\n');
    },
  };
  return ctx;
}


/**
 * What the domain services (webhooks, watchdog, doctor) take from a command's context, under their
 * names: the domain calls its clock `now`.
 */
export function serviceDeps(ctx: Context) {
  return { db: ctx.db, secrets: ctx.secrets, twitter: ctx.twitter, now: ctx.clock, actor: ctx.actor, env: ctx.env };
}
