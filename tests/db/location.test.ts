// Engine selection from --db / OMNI_DB and the pool configuration a URL gives: no server needed.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskPasswords, parseDbLocation } from '../../src/db/location.js';
import { poolConfig, poolSizeFrom } from '../../src/db/postgres.js';
import { keyFilePath } from '../../src/secrets.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

const pgLocation = (url: string) => {
  const l = parseDbLocation(url);
  if (l.engine !== 'postgres') throw new Error('expected postgres');
  return l;
};

describe('parseDbLocation', () => {
  it('selects PostgreSQL for postgres:// and postgresql:// URLs and masks the password', () => {
    const a = pgLocation('postgres://omni:s3cr%40t@db.example.com:6432/helpdesk?sslmode=require');
    expect(a).toMatchObject({ host: 'db.example.com', port: 6432, database: 'helpdesk', user: 'omni' });
    expect(a.display).toBe('postgres://omni:***@db.example.com:6432/helpdesk?sslmode=require');
    expect(a.display).not.toContain('s3cr');
    expect(pgLocation('POSTGRESQL://omni@db/helpdesk')).toMatchObject({ host: 'db', port: 5432, database: 'helpdesk' });
    expect(pgLocation('postgres://omni@db/helpdesk').display).toBe('postgres://omni@db/helpdesk');
  });

  it('keeps SQLite for paths and sqlite: URLs, resolved against the working directory', () => {
    expect(parseDbLocation('data/omni.db', '/srv')).toEqual({ engine: 'sqlite', path: '/srv/data/omni.db', display: '/srv/data/omni.db' });
    expect(parseDbLocation('sqlite:data/omni.db', '/srv')).toMatchObject({ engine: 'sqlite', path: '/srv/data/omni.db' });
    expect(parseDbLocation('sqlite:///var/lib/omni.db', '/srv')).toMatchObject({ engine: 'sqlite', path: '/var/lib/omni.db' });
  });

  it('refuses other schemes and URLs without a database, masking the password in the message', () => {
    expect(() => parseDbLocation('mysql://root@db/omni')).toThrow(/cannot use a mysql:\/\/ database/);
    expect(() => parseDbLocation('postgres://omni:topsecret@db')).toThrow(/names no database/);
    try {
      parseDbLocation('postgres://omni:topsecret@db');
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecret');
    }
    expect(maskPasswords('connect postgres://a:b@h/d failed')).toBe('connect postgres://a:***@h/d failed');
  });
});

describe('PostgreSQL pool configuration', () => {
  it('takes its size from the flag, then OMNI_DB_POOL_SIZE, else 10, and refuses nonsense', () => {
    expect(poolSizeFrom(undefined, {})).toBe(10);
    expect(poolSizeFrom(undefined, { OMNI_DB_POOL_SIZE: '4' })).toBe(4);
    expect(poolSizeFrom('20', { OMNI_DB_POOL_SIZE: '4' })).toBe(20);
    expect(() => poolSizeFrom(undefined, { OMNI_DB_POOL_SIZE: '0' })).toThrow(/OMNI_DB_POOL_SIZE must be a whole number from 1/);
    expect(() => poolSizeFrom('many', {})).toThrow(/--db-pool-size must be a whole number/);
  });

  it('maps sslmode the libpq way pg can honour, and passes no ssl parameter on to pg', () => {
    const dir = tempDir();
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const cfg = (q: string) => poolConfig(pgLocation(`postgres://u:p@h:5432/d${q}`), 3);
    expect(cfg('')).toMatchObject({ ssl: false, max: 3 });
    expect(cfg('?sslmode=disable').ssl).toBe(false);
    expect(cfg('?sslmode=require').ssl).toEqual({ rejectUnauthorized: false });
    const requireWithCa = cfg(`?sslmode=require&sslrootcert=${ca}`).ssl as { ca: string; checkServerIdentity: () => undefined };
    expect(requireWithCa.ca).toContain('BEGIN CERTIFICATE');
    expect(typeof requireWithCa.checkServerIdentity).toBe('function');
    expect(cfg(`?sslmode=verify-full&sslrootcert=${ca}`).ssl).toEqual({ ca: fs.readFileSync(ca, 'utf8') });
    expect(cfg('?sslmode=verify-full').ssl).toEqual({});
    expect(() => cfg('?sslmode=verify-ca')).toThrow(/needs sslrootcert/);
    expect(() => cfg('?sslmode=prefer')).toThrow(/does not fall back between TLS and plain/);
    expect(() => cfg('?sslmode=bogus')).toThrow(/not an sslmode/);
    expect(() => cfg('?sslmode=require&sslrootcert=/nonexistent/ca.pem')).toThrow(/cannot read sslrootcert/);
    expect(cfg('?sslmode=require&application_name=x').connectionString).toBe('postgres://u:p@h:5432/d?application_name=x');
  });
});

describe('secret key of a PostgreSQL database', () => {
  it('lives per host under $XDG_CONFIG_HOME/omni/keys, and omni never creates it', async () => {
    const dir = tempDir();
    const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg') };
    expect(keyFilePath('postgres://u:p@db.example.com:6432/help desk', env)).toBe(path.join(dir, 'cfg', 'omni', 'keys', 'db.example.com-6432-help_desk.key'));
    expect(keyFilePath('/srv/omni.db', env)).toBe('/srv/omni.db.key');
    // A command that needs the key on an unreachable server still fails on the server first; the key
    // rule itself is checked through loadSecretBox.
    const { loadSecretBox } = await import('../../src/secrets.js');
    expect(() => loadSecretBox('postgres://u:p@db.example.com:6432/helpdesk', env)).toThrow(/no secret key for postgres:\/\/u:\*\*\*@db.example.com:6432\/helpdesk/);
    expect(fs.existsSync(path.join(dir, 'cfg'))).toBe(false);
  });
});

describe('omni with an unreachable PostgreSQL', () => {
  it('says in one line where it could not connect and how to fix it, without the password', async () => {
    const r = await runCli(['--db', 'postgres://omni:hunter2@127.0.0.1:1/omni', 'unit', 'list'], { env: { HOME: tempDir() } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: cannot reach PostgreSQL at 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n  start the server or fix the host and port in --db / OMNI_DB\n');
    const p = await runCli(['--db', 'postgres://omni:hunter2@127.0.0.1:1/omni', 'db', 'path']);
    expect(p.stdout).toBe('postgres://omni:***@127.0.0.1:1/omni\n');
  });
});
