// Reading back what the listener stored, through a connection of our own.
import { openDatabase } from '../../src/db/connection.js';

export async function storedEventIds(dbPath: string): Promise<string[]> {
  const db = await openDatabase(dbPath);
  try {
    return db.sqlite.prepare('SELECT twitter_event_id FROM messages ORDER BY id').pluck().all() as string[];
  } finally {
    await db.close();
  }
}

export function eventIdOf(body: string): string {
  return (JSON.parse(body) as { direct_message_events: Array<{ id: string }> }).direct_message_events[0]!.id;
}
