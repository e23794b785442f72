// Interaction credentials at rest: AES-256-GCM with a key from OMNI_SECRET_KEY (base64 of 32 bytes)
// or, when unset, a key file: created once beside a SQLite database (mode 0600); for PostgreSQL one
// per host under $XDG_CONFIG_HOME/omni/keys/ that must already exist (keyFilePath). The database never holds
// a secret in clear, and a wrong key is a clear error, never garbage.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPostgresUrl, parseDbLocation } from './db/location.js';
import { OmniError } from './errors.js';

const VERSION = 'v1';

export interface SecretBox {
  /** `field` is bound as associated data, so a value cannot be moved to another column unnoticed. */
  encrypt(plain: string, field: string): string;
  decrypt(envelope: string, field: string): string;
  /** Where the key came from, for `omni doctor` and error messages. */
  readonly source: string;
  /**
   * A 32-byte key for another purpose, derived from the installation's key and `label`
   * (HMAC-SHA256(key, "omni subkey:" + label)); the AES key itself never leaves this module.
   */
  subkey(label: string): Buffer;
}

/**
 * Where the key file of a database is. SQLite: beside the file (`<db>.key`), created on first use.
 * PostgreSQL: a URL has no "beside", and several hosts share the database, so each host keeps the
 * one key in `$XDG_CONFIG_HOME/omni/keys/<host>-<port>-<database>.key` (default ~/.config) or sets
 * OMNI_SECRET_KEY; omni never creates it, since a second host inventing its own key would lock the
 * first one out of every secret it writes.
 */
export function keyFilePath(db: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!isPostgresUrl(db)) return `${db}.key`;
  const where = parseDbLocation(db);
  if (where.engine !== 'postgres') return `${db}.key`;
  const configHome = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.trim() !== '' ? env.XDG_CONFIG_HOME : path.join(env.HOME || os.homedir(), '.config');
  const safe = (part: string) => part.replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(configHome, 'omni', 'keys', `${safe(where.host)}-${where.port}-${safe(where.database)}.key`);
}

function parseKey(b64: string, source: string): Buffer {
  const key = Buffer.from(b64.trim(), 'base64');
  if (key.length !== 32) {
    throw new OmniError(`${source} is not a base64 encoded 32-byte key (it decodes to ${key.length} bytes)`, {
      hint: 'create one with: openssl rand -base64 32',
      exitCode: 2,
    });
  }
  return key;
}

function loadOrCreateKeyFile(file: string): Buffer {
  try {
    return parseKey(fs.readFileSync(file, 'utf8'), `the key file ${file}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = crypto.randomBytes(32);
  try {
    // 'wx': if another process created it meanwhile, use theirs instead of overwriting.
    fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return parseKey(fs.readFileSync(file, 'utf8'), `the key file ${file}`);
    throw new OmniError(`cannot create the key file ${file}: ${(err as Error).message}`, {
      hint: 'make its directory writable, or set OMNI_SECRET_KEY (openssl rand -base64 32)',
    });
  }
}

/** PostgreSQL: the key must already be there (every host of the fleet has the same one). */
function loadSharedKeyFile(file: string, database: string): Buffer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new OmniError(`cannot read the key file ${file}: ${(err as Error).message}`, { hint: 'make it readable by this user (chmod 600, owned by it)' });
    throw new OmniError(`no secret key for ${database}: OMNI_SECRET_KEY is unset and ${file} does not exist`, {
      hint: `put the installation's key there on every host (the old <db>.key after omni db copy; a new install: umask 077; openssl rand -base64 32 > ${file}), or set OMNI_SECRET_KEY`,
    });
  }
  return parseKey(text, `the key file ${file}`);
}

export function createSecretBox(key: Buffer, source: string): SecretBox {
  return {
    source,
    subkey: (label) => crypto.createHmac('sha256', key).update(`omni subkey:${label}`).digest(),
    encrypt(plain, field) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(field));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    decrypt(envelope, field) {
      const [version, payload] = envelope.split(':', 2);
      if (version !== VERSION || !payload) {
        throw new OmniError(`a stored ${field} is not in a format this omni understands`, { hint: 'set it again with omni interaction edit' });
      }
      const raw = Buffer.from(payload, 'base64');
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAAD(Buffer.from(field));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        throw new OmniError(`cannot decrypt the stored ${field}: the secret key (${source}) is not the one it was saved with`, {
          hint: 'set OMNI_SECRET_KEY to the original key or restore the original key file',
        });
      }
    },
  };
}

export function loadSecretBox(dbPath: string, env: NodeJS.ProcessEnv): SecretBox {
  if (env.OMNI_SECRET_KEY && env.OMNI_SECRET_KEY.trim() !== '') {
    return createSecretBox(parseKey(env.OMNI_SECRET_KEY, 'OMNI_SECRET_KEY'), 'OMNI_SECRET_KEY');
  }
  const file = keyFilePath(dbPath, env);
  if (isPostgresUrl(dbPath)) return createSecretBox(loadSharedKeyFile(file, parseDbLocation(dbPath).display), file);
  return createSecretBox(loadOrCreateKeyFile(file), file);
}

/** Below this length a secret shows no characters at all. */
export const MASK_REVEAL_MIN_LENGTH = 16;
const MASK = '********';

/**
 * The one mask of a stored credential, for every surface (show, list, JSON, the wizard's "keep
 * current"): a fixed width that tells nothing of the length, plus the last 4 characters of a secret
 * of 16 or more (enough to tell two keys apart, too few to matter).
 */
export function maskSecret(value: string): string {
  if (value.length === 0) return '';
  return value.length >= MASK_REVEAL_MIN_LENGTH ? MASK + value.slice(-4) : MASK;
}
