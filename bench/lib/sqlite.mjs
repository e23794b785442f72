// A read of a bench database after its load, on a read-only connection closed again at once.
import Database from 'better-sqlite3';

export function readSqlite(file, read) {
  const db = new Database(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}
