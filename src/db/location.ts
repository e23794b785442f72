// Where the database lives, from --db / OMNI_DB: a file path (or sqlite:PATH) selects SQLite,
// postgres:// or postgresql:// selects PostgreSQL. The password of a URL never leaves this module
// unmasked except to the driver: everything shown to people goes through `display`.
import path from 'node:path';
import { DbError } from './errors.js';

export type Engine = 'sqlite' | 'postgres';

export interface SqliteLocation {
  engine: 'sqlite';
  /** Absolute path of the database file. */
  path: string;
  display: string;
}

export interface PostgresLocation {
  engine: 'postgres';
  /** The URL as given, password included: only for the driver. */
  url: string;
  /** The URL with the password replaced by ***: for messages, logs and `db status`. */
  display: string;
  host: string;
  port: number;
  database: string;
  user: string;
}

export type DbLocation = SqliteLocation | PostgresLocation;

const POSTGRES = /^postgres(?:ql)?:\/\//i;

export function isPostgresUrl(value: string): boolean {
  return POSTGRES.test(value.trim());
}

/** Replaces the password of every postgres URL in a text (error messages from the driver included). */
export function maskPasswords(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:@/\s]*:)([^@\s]*)@/gi, (_m, head: string) => `${head}***@`);
}

/** Parses --db / OMNI_DB. Relative paths resolve against `cwd`. */
export function parseDbLocation(value: string, cwd: string = process.cwd()): DbLocation {
  const raw = value.trim();
  if (raw === '') throw new DbError('the database location is empty', 'give --db a file path or a postgres:// URL', 2);
  if (isPostgresUrl(raw)) return parsePostgres(raw);
  if (/^sqlite:/i.test(raw)) {
    // sqlite:PATH, sqlite://PATH and sqlite:///ABSOLUTE all name a file.
    const rest = raw.replace(/^sqlite:(\/\/)?/i, '');
    if (rest === '') throw new DbError(`${raw} names no file`, 'write sqlite:/path/to/omni.db or just the path', 2);
    const file = path.resolve(cwd, rest);
    return { engine: 'sqlite', path: file, display: file };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    const scheme = raw.slice(0, raw.indexOf(':'));
    throw new DbError(`omni cannot use a ${scheme}:// database`, 'give a file path (SQLite) or a postgres:// URL', 2);
  }
  const file = path.resolve(cwd, raw);
  return { engine: 'sqlite', path: file, display: file };
}

function parsePostgres(raw: string): PostgresLocation {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DbError(`${maskPasswords(raw)} is not a valid URL`, 'write it as postgres://user:password@host:5432/database', 2);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '') {
    throw new DbError(`${maskPasswords(raw)} names no database`, 'end the URL with the database name: postgres://user@host:5432/omni', 2);
  }
  const masked = new URL(url.href);
  if (masked.password !== '') masked.password = '***';
  return {
    engine: 'postgres',
    url: raw,
    display: masked.href.replace('%2A%2A%2A', '***'),
    host: url.hostname === '' ? 'localhost' : decodeURIComponent(url.hostname),
    port: url.port === '' ? 5432 : Number(url.port),
    database,
    user: decodeURIComponent(url.username),
  };
}
