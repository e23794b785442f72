// Requesters: the Twitter users who wrote to an interaction, keyed by their Twitter user id.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface RequesterView {
  id: number;
  twitter_user_id: string;
  screen_name: string | null;
  name: string | null;
  unit_id: number | null;
  unit_name: string | null;
  group_id: number | null;
  group_name: string | null;
  created_at: string;
  updated_at: string;
  ticket_count: number;
  open_ticket_count: number;
}

function viewQuery(db: Kysely<Database>) {
  return db
    .selectFrom('requesters as r')
    .leftJoin('units as u', 'u.id', 'r.unit_id')
    .leftJoin('groups as g', 'g.id', 'r.group_id')
    .select((eb) => [
      'r.id',
      'r.twitter_user_id',
      'r.screen_name',
      'r.name',
      'r.unit_id',
      'u.name as unit_name',
      'r.group_id',
      'g.name as group_name',
      'r.created_at',
      'r.updated_at',
      eb.selectFrom('tickets as t').select(eb.fn.countAll<number>().as('n')).whereRef('t.requester_id', '=', 'r.id').as('ticket_count'),
      eb
        .selectFrom('tickets as t')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('t.requester_id', '=', 'r.id')
        .where('t.status', '=', 'open')
        .as('open_ticket_count'),
    ]);
}

const normalise = (r: Record<string, unknown>) =>
  ({ ...r, ticket_count: Number(r.ticket_count ?? 0), open_ticket_count: Number(r.open_ticket_count ?? 0) }) as RequesterView;

export async function listRequesters(db: Kysely<Database>, f: { limit: number; beforeId?: number }): Promise<RequesterView[]> {
  let q = viewQuery(db).orderBy('r.id', 'desc').limit(f.limit);
  if (f.beforeId !== undefined) q = q.where('r.id', '<', f.beforeId);
  return (await q.execute()).map(normalise);
}

/**
 * By omni id ("12"), Twitter user id ("tw:456" or a number that is no omni id), or screen name
 * ("@alice", case-insensitive).
 */
export async function findRequester(db: Kysely<Database>, ref: string): Promise<RequesterView | undefined> {
  const r = ref.trim();
  if (r.startsWith('@')) {
    // Screen names are case-insensitive on Twitter; the newest requester wins if one was renamed.
    const row = await viewQuery(db)
      .where(sql<string>`lower(r.screen_name)`, '=', r.slice(1).toLowerCase())
      .orderBy('r.id', 'desc')
      .executeTakeFirst();
    return row ? normalise(row) : undefined;
  }
  if (r.startsWith('tw:')) {
    const row = await viewQuery(db).where('r.twitter_user_id', '=', r.slice(3)).executeTakeFirst();
    return row ? normalise(row) : undefined;
  }
  if (!/^\d+$/.test(r)) return undefined;
  const byId = Number(r) <= Number.MAX_SAFE_INTEGER ? await viewQuery(db).where('r.id', '=', Number(r)).executeTakeFirst() : undefined;
  if (byId) return normalise(byId);
  const byTwitter = await viewQuery(db).where('r.twitter_user_id', '=', r).executeTakeFirst();
  return byTwitter ? normalise(byTwitter) : undefined;
}

/** Screen names of the given Twitter user ids, where a requester has one (ids with none are absent). */
export async function screenNamesByTwitterId(db: Kysely<Database>, twitterIds: readonly string[]): Promise<Map<string, string>> {
  const ids = [...new Set(twitterIds)];
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('requesters')
    .select(['twitter_user_id', 'screen_name'])
    .where('twitter_user_id', 'in', ids)
    .where('screen_name', 'is not', null)
    .execute();
  for (const r of rows) out.set(r.twitter_user_id, r.screen_name!);
  return out;
}
