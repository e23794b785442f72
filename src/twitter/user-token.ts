// A valid OAuth 2.0 user access token for an interaction, across processes. X's access tokens last
// 2 h; every refresh returns a new refresh token and X refuses the old one from then on, so:
// - a token is reused until 2 min before it expires;
// - a refresh is done by one process at a time: it claims the row's lease (one atomic UPDATE),
//   re-reads the row (another process may have refreshed meanwhile), spends the refresh token, and
//   stores the new pair encrypted BEFORE anyone uses it; the others wait and re-read;
// - X refusing the refresh token marks the authorization lost (unless it changed meanwhile) and
//   throws one line naming `omni interaction authorize <id>`; nothing retries it in a loop.
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, OAuthTokenRow } from '../db/schema.js';
import { claimRefreshLease, getOAuthToken, markAuthorizationLost, releaseRefreshLease, saveAuthorization, storeRefreshedTokens } from '../db/oauth-tokens.js';
import { OmniError } from '../errors.js';
import type { SecretBox } from '../secrets.js';
import { TwitterError } from './errors.js';
import { refreshTokens, type OAuth2Client, type TokenSet, type XAccount } from './oauth2.js';

/** Associated data of the envelopes: table and column, so a value cannot be moved elsewhere unnoticed. */
export const TOKEN_FIELDS = { access: 'oauth_tokens.access_token_enc', refresh: 'oauth_tokens.refresh_token_enc' } as const;
/** Refresh when the token expires within this. */
export const REFRESH_MARGIN_MS = 2 * 60_000;

export interface UserTokenSource {
  /** A token valid for at least REFRESH_MARGIN_MS (refreshing first when needed). */
  accessToken(): Promise<string>;
  /** X answered 401 to `rejected`: refresh now (unless someone already did) and return the new token. */
  refreshAfterRejection(rejected: string): Promise<string>;
  /** X refused even a freshly refreshed token: mark the authorization lost; returns the error to throw. */
  markLost(reason: string, url: string): Promise<TwitterError>;
}

export interface UserTokenOptions {
  db: Kysely<Database>;
  box: SecretBox;
  interactionId: number;
  /** The app's OAuth 2.0 client; its authorizeCommand is quoted in fixes. */
  client: OAuth2Client;
  now?: () => Date;
  /** How long a refresh lease lasts; default the client's timeout + 15 s (a dead holder is outlived). */
  leaseMs?: number;
  /** How often a waiter re-reads the row. */
  pollMs?: number;
  /** Identifies this process in the lease (diagnostics); random by default. */
  owner?: string;
}

/** Stores what `interaction authorize` obtained: the tokens (encrypted) and whose they are. */
export async function storeAuthorization(db: Kysely<Database>, box: SecretBox, interactionId: number, tokens: TokenSet, account: XAccount, now: Date = new Date()): Promise<void> {
  await saveAuthorization(db, {
    interactionId,
    accessTokenEnc: box.encrypt(tokens.accessToken, TOKEN_FIELDS.access),
    refreshTokenEnc: tokens.refreshToken === null ? null : box.encrypt(tokens.refreshToken, TOKEN_FIELDS.refresh),
    expiresAt: tokens.expiresAt,
    scopes: tokens.scopes,
    accountUserId: account.userId,
    accountUsername: account.username,
    now: now.toISOString(),
  });
}

async function persistently(write: () => Promise<void>, tries = 5): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await write();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

export function createUserTokenSource(o: UserTokenOptions): UserTokenSource {
  const now = o.now ?? (() => new Date());
  const leaseMs = o.leaseMs ?? o.client.timeoutMs + 15_000;
  const pollMs = o.pollMs ?? 50;
  const owner = o.owner ?? `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const authorize = o.client.authorizeCommand ?? `omni interaction authorize ${o.interactionId}`;
  const client: OAuth2Client = { ...o.client, authorizeCommand: authorize };

  const lostError = (row: Pick<OAuthTokenRow, 'lost_at' | 'lost_reason'>) =>
    new TwitterError('authorization-lost', `the X authorization of interaction ${o.interactionId} is lost (since ${row.lost_at}): ${row.lost_reason ?? 'refused by X'}`, {
      url: `${client.apiBaseUrl}/2/oauth2/token`,
      hint: `authorize the account again: ${authorize}`,
    });

  async function read(): Promise<OAuthTokenRow> {
    const row = await getOAuthToken(o.db, o.interactionId);
    if (!row) throw new OmniError(`interaction ${o.interactionId} has no X OAuth 2.0 authorization`, { hint: `authorize the support account: ${authorize}` });
    if (row.lost_at !== null) throw lostError(row);
    return row;
  }

  async function obtain(rejected: string | undefined): Promise<string> {
    const deadline = now().getTime() + 2 * leaseMs + 5_000;
    for (;;) {
      const row = await read();
      const access = o.box.decrypt(row.access_token_enc, TOKEN_FIELDS.access);
      const fresh = Date.parse(row.expires_at) - now().getTime() > REFRESH_MARGIN_MS;
      if (fresh && access !== rejected) return access;
      if (row.refresh_token_enc === null) {
        const reason = 'the access token expired and the authorization has no refresh token (offline.access was not granted)';
        await markAuthorizationLost(o.db, o.interactionId, row.generation, reason, now().toISOString());
        throw lostError({ lost_at: now().toISOString(), lost_reason: reason });
      }
      const t = now();
      const claimed = await claimRefreshLease(o.db, o.interactionId, owner, new Date(t.getTime() + leaseMs).toISOString(), t.toISOString());
      if (claimed === undefined) {
        // Someone else is refreshing: wait for their pair rather than spending the same token.
        if (now().getTime() > deadline) {
          throw new OmniError(`another process has been refreshing the X token of interaction ${o.interactionId} for too long`, { hint: 'check for a hung omni process, then run it again' });
        }
        await new Promise((r) => setTimeout(r, pollMs));
        continue;
      }
      if (claimed !== row.generation) {
        // Refreshed between our read and our claim: use theirs.
        await releaseRefreshLease(o.db, o.interactionId, owner);
        continue;
      }
      return refreshHolding(row);
    }
  }

  async function refreshHolding(row: OAuthTokenRow): Promise<string> {
    const spent = o.box.decrypt(row.refresh_token_enc!, TOKEN_FIELDS.refresh);
    let tokens: TokenSet;
    try {
      tokens = await refreshTokens(client, spent, now);
    } catch (err) {
      if (err instanceof TwitterError && err.kind === 'authorization-lost') {
        const marked = await markAuthorizationLost(o.db, o.interactionId, row.generation, err.twitterMessage ?? err.message, now().toISOString());
        if (!marked) return obtain(undefined); // authorized again or refreshed meanwhile
        throw new TwitterError('authorization-lost', `X refused the refresh token of interaction ${o.interactionId}: the authorization is lost${err.twitterMessage ? ` (${err.twitterMessage})` : ''}`, {
          url: err.url,
          ...(err.httpStatus !== undefined ? { httpStatus: err.httpStatus } : {}),
          hint: `authorize the account again: ${authorize}`,
          cause: err,
        });
      }
      await releaseRefreshLease(o.db, o.interactionId, owner);
      throw err;
    }
    // Persist before use: once X answered, the old refresh token is dead and this pair is the only one,
    // so a busy database gets a few more tries before the pair is given up.
    await persistently(() => storeRefreshedTokens(
      o.db,
      o.interactionId,
      {
        accessTokenEnc: o.box.encrypt(tokens.accessToken, TOKEN_FIELDS.access),
        // X always rotates; if it ever left the refresh token out, the old one is still the one to keep.
        refreshTokenEnc: tokens.refreshToken === null ? row.refresh_token_enc : o.box.encrypt(tokens.refreshToken, TOKEN_FIELDS.refresh),
        expiresAt: tokens.expiresAt,
        scopes: tokens.scopes || row.scopes,
      },
      now().toISOString(),
    ));
    return tokens.accessToken;
  }

  return {
    accessToken: () => obtain(undefined),
    refreshAfterRejection: (rejected) => obtain(rejected),
    async markLost(reason, url) {
      const row = await getOAuthToken(o.db, o.interactionId);
      const at = now().toISOString();
      if (row && row.lost_at === null) await markAuthorizationLost(o.db, o.interactionId, row.generation, reason, at);
      return new TwitterError('authorization-lost', `X refused the OAuth 2.0 authorization of interaction ${o.interactionId}: ${reason}`, { url, hint: `authorize the account again: ${authorize}` });
    },
  };
}
