// The one way to open an interaction's gateway to X's API of 2026: the app's keys for the bearer
// token, the account's OAuth 2.0 token source (refreshed through the database, so every process
// shares one rotation), the commands an error names, and the health observer that records X's named
// refusals. The webhook commands, the watchdog, the outbox, the stream and X Chat all open it here.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { healthObserver } from '../health/observer.js';
import type { SecretBox } from '../secrets.js';
import { createXGateway, type XGateway } from '../twitter/gateway-v2.js';
import { createUserTokenSource } from '../twitter/user-token.js';
import { OAUTH_CLIENT_COLUMNS, SECRET_COLUMNS } from './model.js';

export interface InteractionXSetup {
  db: Kysely<Database>;
  box: SecretBox;
  /** OMNI_TWITTER_API_URL. */
  baseUrl: string;
  timeoutMs: number;
  /** OMNI_TWITTER_CLIENT_ID, for interactions authorized without storing their client id. */
  clientIdFallback?: string;
  now?: () => Date;
}

/** The columns the gateway is built from. */
export interface InteractionXRow {
  id: number;
  api_key_enc: string;
  api_secret_key_enc: string;
  client_id_enc: string | null;
  client_secret_enc: string | null;
}

/** The OAuth 2.0 client id the interaction's token is refreshed with: the stored one, else the fallback. */
export function oauthClientIdOf(s: InteractionXSetup, row: InteractionXRow): string | undefined {
  return row.client_id_enc !== null ? s.box.decrypt(row.client_id_enc, OAUTH_CLIENT_COLUMNS.clientId) : s.clientIdFallback;
}

export interface OpenOptions {
  /** Without the account's OAuth 2.0 token (nothing authorized yet): app bearer and OAuth 1.0a only. */
  withoutUserToken?: boolean;
  /** The OAuth 1.0a user context, for the calls X also accepts with it. */
  oauth1?: { apiKey: string; apiSecretKey: string; accessToken: string; accessTokenSecret: string };
}

export function openInteractionXGateway(s: InteractionXSetup, row: InteractionXRow, opts: OpenOptions = {}): XGateway {
  const authorizeCommand = `omni interaction authorize ${row.id}`;
  const clientId = oauthClientIdOf(s, row);
  const clientSecret = row.client_secret_enc === null ? undefined : s.box.decrypt(row.client_secret_enc, OAUTH_CLIENT_COLUMNS.clientSecret);
  const userToken =
    opts.withoutUserToken || clientId === undefined
      ? undefined
      : createUserTokenSource({
          db: s.db,
          box: s.box,
          interactionId: row.id,
          client: { apiBaseUrl: s.baseUrl, clientId, ...(clientSecret !== undefined ? { clientSecret } : {}), timeoutMs: s.timeoutMs, authorizeCommand },
          ...(s.now ? { now: s.now } : {}),
        });
  return createXGateway({
    baseUrl: s.baseUrl,
    timeoutMs: s.timeoutMs,
    app: { apiKey: s.box.decrypt(row.api_key_enc, SECRET_COLUMNS.apiKey), apiSecretKey: s.box.decrypt(row.api_secret_key_enc, SECRET_COLUMNS.apiSecretKey) },
    ...(userToken ? { userToken } : {}),
    ...(opts.oauth1 ? { oauth1: opts.oauth1 } : {}),
    editCommand: `omni interaction edit ${row.id}`,
    authorizeCommand,
    observer: healthObserver(s.db, [row.id], s.now),
  });
}
