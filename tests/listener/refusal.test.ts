// The listener's one mapping from an error to an answer (src/listener/refusal.ts): typed errors and
// SQLite codes decide, never the text of a message.
import { describe, expect, it } from 'vitest';
import { BodyTimeout, BodyTooLarge, ClientAborted } from '../../src/listener/body.js';
import { WriterExited } from '../../src/listener/intake-writer.js';
import { InteractionUnreadable, Refusal, refusalOf, rethrowAs, SecretUnreadable } from '../../src/listener/refusal.js';
import { DeliveryParseError } from '../../src/intake/parse.js';

const sqliteError = (code: string) => Object.assign(new Error('database is locked'), { code });
const answer = (r: Refusal) => ({ status: r.status, code: r.code, message: r.message, logged: r.logAs !== undefined });

describe('refusalOf', () => {
  it('maps each failure of a request to its status, metric reason and body', () => {
    expect(answer(refusalOf(new BodyTooLarge(1024)))).toEqual({ status: 413, code: 'too_large', message: 'body over 1024 bytes', logged: false });
    expect(answer(refusalOf(new BodyTimeout(2_000)))).toEqual({ status: 408, code: 'body_timeout', message: 'body not complete within 2 s', logged: false });
    expect(answer(refusalOf(new ClientAborted('gone')))).toEqual({ status: 400, code: 'client_aborted', message: 'gone', logged: false });
    expect(refusalOf(new DeliveryParseError('not JSON'))).toMatchObject({ status: 400, code: 'bad_json' });
    expect(answer(refusalOf(new InteractionUnreadable(sqliteError('SQLITE_IOERR'))))).toEqual({ status: 503, code: 'db_unavailable', message: 'database unavailable', logged: true });
    expect(answer(refusalOf(new SecretUnreadable(7, new Error('bad tag'))))).toEqual({
      status: 503,
      code: 'secret_unreadable',
      message: 'the interaction secret cannot be read',
      logged: true,
    });
  });

  it('answers 503 (Twitter retries) for a busy database and a dead writer thread, 500 for anything else', () => {
    expect(refusalOf(sqliteError('SQLITE_BUSY'))).toMatchObject({ status: 503, code: 'db_unavailable' });
    expect(refusalOf(sqliteError('SQLITE_READONLY_DBMOVED'))).toMatchObject({ status: 503, code: 'db_unavailable' });
    expect(refusalOf(new WriterExited(1, new Error('out of memory')))).toMatchObject({ status: 503, code: 'db_unavailable' });
    // A message that merely mentions a code is not that error.
    expect(refusalOf(new Error('SQLITE_BUSY: database is locked'))).toMatchObject({ status: 500, code: 'internal_error' });
    expect(refusalOf(sqliteError('SQLITE_CONSTRAINT_FOREIGNKEY'), 4)).toMatchObject({ status: 500, code: 'internal_error', logAs: 'delivery to interaction #4 failed' });
  });

  it('passes a Refusal through, and rethrowAs turns what a step throws into the typed error', () => {
    const r = new Refusal(401, 'bad_signature', 'bad signature');
    expect(refusalOf(r)).toBe(r);
    const cause = new Error('disk I/O error');
    let thrown: unknown;
    try {
      rethrowAs(() => {
        throw cause;
      }, (e) => new InteractionUnreadable(e));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InteractionUnreadable);
    expect((thrown as Error).cause).toBe(cause);
    expect(rethrowAs(() => 5, (e) => new InteractionUnreadable(e))).toBe(5);
  });
});
