// OAuth 2.0 user authorizations (migration 0006): the stored token pair per interaction and the
// refresh lease that serialises X's rotating refresh across every process on one database file.
// A claim is one UPDATE … WHERE the lease is free or expired … RETURNING: atomic under SQLite's
// write lock (and portable to PostgreSQL), so two processes never both hold it.
import type { Kysely } from 'kysely';
import type { Database, OAuthTokenRow } from './schema.js';

export type { OAuthTokenRow };

export interface OAuthTokenWrite {
  accessTokenEnc: string;
  refreshTokenEnc: string | null;
  expiresAt: string;
  scopes: string;
}

export interface NewAuthorization extends OAuthTokenWrite {
  interactionId: number;
  accountUserId: string;
  accountUsername: string;
  now: string;
}

/** Stores a fresh authorization (after `interaction authorize`): replaces any previous one, clears "lost". */
export async function saveAuthorization(db: Kysely<Database>, a: NewAuthorization): Promise<void> {
  const values = {
    access_token_enc: a.accessTokenEnc,
    refresh_token_enc: a.refreshTokenEnc,
    expires_at: a.expiresAt,
    scopes: a.scopes,
    account_user_id: a.accountUserId,
    account_username: a.accountUsername,
    refreshed_at: null,
    refresh_lease_owner: null,
    refresh_lease_until: null,
    lost_at: null,
    lost_reason: null,
    updated_at: a.now,
  };
  await db
    .insertInto('oauth_tokens')
    .values({ interaction_id: a.interactionId, created_at: a.now, ...values })
    .onConflict((oc) => oc.column('interaction_id').doUpdateSet((eb) => ({ ...values, generation: eb('oauth_tokens.generation', '+', 1) })))
    .execute();
}

export async function getOAuthToken(db: Kysely<Database>, interactionId: number): Promise<OAuthTokenRow | undefined> {
  return db.selectFrom('oauth_tokens').selectAll().where('interaction_id', '=', interactionId).executeTakeFirst();
}

/**
 * Claims the refresh lease until `until` for `owner` when it is free or expired and the authorization
 * is not lost. Returns the generation the claim saw, or undefined when someone else holds it.
 */
export async function claimRefreshLease(db: Kysely<Database>, interactionId: number, owner: string, until: string, now: string): Promise<number | undefined> {
  const row = await db
    .updateTable('oauth_tokens')
    .set({ refresh_lease_owner: owner, refresh_lease_until: until })
    .where('interaction_id', '=', interactionId)
    .where('lost_at', 'is', null)
    .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<=', now)]))
    .returning('generation')
    .executeTakeFirst();
  return row?.generation;
}

/**
 * Stores the pair X just issued and frees the lease. Unconditional on the lease: X refuses a spent
 * refresh token, so a pair X issued is the newest one there is, even if our lease ran out meanwhile.
 */
export async function storeRefreshedTokens(db: Kysely<Database>, interactionId: number, t: OAuthTokenWrite, now: string): Promise<void> {
  await db
    .updateTable('oauth_tokens')
    .set((eb) => ({
      access_token_enc: t.accessTokenEnc,
      refresh_token_enc: t.refreshTokenEnc,
      expires_at: t.expiresAt,
      scopes: t.scopes,
      generation: eb('generation', '+', 1),
      refreshed_at: now,
      refresh_lease_owner: null,
      refresh_lease_until: null,
      updated_at: now,
    }))
    .where('interaction_id', '=', interactionId)
    .execute();
}

/** Frees the lease if `owner` still holds it (a refresh that failed without losing the authorization). */
export async function releaseRefreshLease(db: Kysely<Database>, interactionId: number, owner: string): Promise<void> {
  await db
    .updateTable('oauth_tokens')
    .set({ refresh_lease_owner: null, refresh_lease_until: null })
    .where('interaction_id', '=', interactionId)
    .where('refresh_lease_owner', '=', owner)
    .execute();
}

/**
 * Marks the authorization lost unless it changed since `generation` (someone refreshed or authorized
 * again meanwhile). Returns whether it marked it.
 */
export async function markAuthorizationLost(db: Kysely<Database>, interactionId: number, generation: number, reason: string, now: string): Promise<boolean> {
  const r = await db
    .updateTable('oauth_tokens')
    .set({ lost_at: now, lost_reason: reason, refresh_lease_owner: null, refresh_lease_until: null, updated_at: now })
    .where('interaction_id', '=', interactionId)
    .where('generation', '=', generation)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** What `interaction list/show` and `doctor` say about authorizations: no tokens, only the state. */
export type OAuthTokenState = Pick<OAuthTokenRow, 'interaction_id' | 'expires_at' | 'scopes' | 'account_user_id' | 'account_username' | 'refreshed_at' | 'lost_at' | 'lost_reason' | 'updated_at'> & { has_refresh_token: boolean };

export async function listOAuthTokenStates(db: Kysely<Database>, interactionIds?: number[]): Promise<OAuthTokenState[]> {
  if (interactionIds !== undefined && interactionIds.length === 0) return [];
  let q = db
    .selectFrom('oauth_tokens')
    .select(['interaction_id', 'expires_at', 'scopes', 'account_user_id', 'account_username', 'refreshed_at', 'lost_at', 'lost_reason', 'updated_at', 'refresh_token_enc']);
  if (interactionIds !== undefined) q = q.where('interaction_id', 'in', interactionIds);
  const rows = await q.execute();
  return rows.map(({ refresh_token_enc, ...r }) => ({ ...r, has_refresh_token: refresh_token_enc !== null }));
}
