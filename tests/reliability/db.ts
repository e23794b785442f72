// Reading back what the listener stored, through a connection of our own (a file or a PostgreSQL URL).
import { openDatabase } from '../../src/db/connection.js';

/** The event ids of the inbound messages stored, in the order they were stored (replies left out). */
export async function storedEventIds(db: string): Promise<string[]> {
  const h = await openDatabase(db);
  try {
    const rows = await h.kysely.selectFrom('messages').select('twitter_event_id').where('direction', '=', 'inbound').orderBy('id').execute();
    return rows.map((r) => r.twitter_event_id as string);
  } finally {
    await h.close();
  }
}

export function eventIdOf(body: string): string {
  return (JSON.parse(body) as { direct_message_events: Array<{ id: string }> }).direct_message_events[0]!.id;
}
