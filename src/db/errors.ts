// Errors the database layer raises for users. Duck-typed (exitCode + message + hint) so that
// src/db depends on nothing else of omni; cli.ts prints them as one line with the fix.

export class DbError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, hint?: string, exitCode = 1, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DbError';
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** A catalog entry or parameter cannot go: something still points at it. */
export class ReferencedError extends DbError {
  constructor(what: string, referencedBy: string[]) {
    super(
      `${what} is still referenced by ${referencedBy.join(', ')}`,
      'change or delete those first, then remove it again',
    );
    this.name = 'ReferencedError';
  }
}

/** A unique key was hit (name taken, duplicate entry). Exit 2: it is the input that is wrong. */
export class ConflictError extends DbError {
  constructor(message: string, hint?: string) {
    super(message, hint, 2);
    this.name = 'ConflictError';
  }
}

export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  // SQLite (better-sqlite3) and PostgreSQL (23505) spellings.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

