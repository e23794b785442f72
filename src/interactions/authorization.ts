// The state of an interaction's OAuth 2.0 user authorization as every surface reports it (list,
// show, doctor, JSON): whether the generation needs one, whether there is one, and whether X still
// accepts it. Read from the stored state only: no token leaves the secret box for this.
import type { OAuthTokenState } from '../db/oauth-tokens.js';

export type AuthorizationStatus = 'not needed' | 'missing' | 'ok' | 'expires' | 'lost';

export interface AuthorizationJson {
  status: AuthorizationStatus;
  account: { userId: string | null; username: string | null } | null;
  scopes: string | null;
  /** When the current access token expires (it is refreshed before, while a refresh token exists). */
  accessTokenExpiresAt: string | null;
  refreshable: boolean;
  lostAt: string | null;
  lostReason: string | null;
  /** The command that fixes "missing" and "lost". */
  fix: string | null;
}

/**
 * 'ok': tokens that refresh themselves; 'expires': no refresh token (offline.access not granted),
 * so it stops working when the access token expires; 'lost': X refused it; 'missing': v2/activity
 * without one; 'not needed': v1.1 (OAuth 1.0a only) and none stored.
 */
export function authorizationJson(api: string, interactionId: number, state: OAuthTokenState | undefined): AuthorizationJson {
  const fix = `omni interaction authorize ${interactionId}`;
  if (!state) {
    const status: AuthorizationStatus = api === 'v1.1' ? 'not needed' : 'missing';
    return { status, account: null, scopes: null, accessTokenExpiresAt: null, refreshable: false, lostAt: null, lostReason: null, fix: status === 'missing' ? fix : null };
  }
  const status: AuthorizationStatus = state.lost_at !== null ? 'lost' : state.has_refresh_token ? 'ok' : 'expires';
  return {
    status,
    account: state.account_user_id || state.account_username ? { userId: state.account_user_id, username: state.account_username } : null,
    scopes: state.scopes,
    accessTokenExpiresAt: state.expires_at,
    refreshable: state.has_refresh_token && state.lost_at === null,
    lostAt: state.lost_at,
    lostReason: state.lost_reason,
    fix: status === 'lost' || status === 'expires' ? fix : null,
  };
}

/** One short phrase for tables: "ok @support", "lost", "missing", "-". */
export function authorizationShort(a: AuthorizationJson): string {
  const who = a.account?.username ? ` @${a.account.username}` : '';
  switch (a.status) {
    case 'not needed':
      return '-';
    case 'ok':
      return `ok${who}`;
    case 'expires':
      return `expires ${a.accessTokenExpiresAt ?? ''}${who}`.trim();
    case 'lost':
      return `LOST${who}`;
    case 'missing':
      return 'missing';
  }
}

/** One line for `show`: the state, whose, and the fix when there is one. */
export function authorizationLine(a: AuthorizationJson): string {
  const who = a.account ? ` @${a.account.username ?? '?'} (user id ${a.account.userId ?? '?'})` : '';
  switch (a.status) {
    case 'not needed':
      return 'not needed (v1.1 uses the OAuth 1.0a access token)';
    case 'missing':
      return `missing: the account is not authorized with OAuth 2.0; run: ${a.fix}`;
    case 'ok':
      return `ok${who}, refreshed automatically (access token valid until ${a.accessTokenExpiresAt})`;
    case 'expires':
      return `expires ${a.accessTokenExpiresAt}${who}: no refresh token (offline.access not granted); run: ${a.fix}`;
    case 'lost':
      return `LOST since ${a.lostAt}${who}: ${a.lostReason ?? 'refused by X'}; run: ${a.fix}`;
  }
}
