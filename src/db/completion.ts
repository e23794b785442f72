// The one read shell completion makes: ids and names of live interactions, straight from a SQLite
// file opened read-only. It never creates, migrates or decrypts anything, and answers [] whenever the
// file is missing, locked, older or newer than expected: completion must stay quick and quiet.
import BetterSqlite3 from 'better-sqlite3';

export function liveInteractionNames(file: string): { id: number; name: string }[] {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 200 });
    return db.prepare('SELECT id, name FROM interactions WHERE deleted_at IS NULL ORDER BY id').all() as { id: number; name: string }[];
  } catch {
    return [];
  } finally {
    db?.close();
  }
}
