// The X gateway of 2026 for one interaction's user-context calls: the app's keys for the bearer, the
// stored OAuth 2.0 client and token pair (refreshed across processes by src/twitter/user-token.ts).
import type { Context } from '../../../cli/context.js';
import type { InteractionView } from '../../../db/interactions.js';
import { listOAuthTokenStates } from '../../../db/oauth-tokens.js';
import { UsageError } from '../../../errors.js';
import { OAUTH_CLIENT_COLUMNS, decryptSecrets } from '../../../interactions/model.js';
import type { SecretBox } from '../../../secrets.js';
import { apiBaseUrl, apiTimeoutMs } from '../../../twitter/gateway.js';
import { createXGateway, type XGateway } from '../../../twitter/gateway-v2.js';
import { createUserTokenSource } from '../../../twitter/user-token.js';

/** Refuses, with the fix, an interaction that cannot make X Chat calls. */
export async function requireXChatReady(ctx: Context, row: InteractionView): Promise<string> {
  if (row.api === 'v1.1') {
    throw new UsageError(
      `interaction ${row.id} '${row.name}' uses the premium v1.1 API; X Chat needs X's current API and an OAuth 2.0 authorization`,
      `omni interaction edit ${row.id} --api activity && omni interaction authorize ${row.id}`,
    );
  }
  const state = (await listOAuthTokenStates((await ctx.db()).kysely, [row.id]))[0];
  if (!state) throw new UsageError(`interaction ${row.id} '${row.name}' is not authorized with OAuth 2.0, which X Chat needs`, `omni interaction authorize ${row.id}`);
  if (state.lost_at) throw new UsageError(`the OAuth 2.0 authorization of interaction ${row.id} is lost since ${state.lost_at}: ${state.lost_reason ?? 'refused by X'}`, `omni interaction authorize ${row.id}`);
  const account = row.account_user_id ?? state.account_user_id;
  if (!account) throw new UsageError(`interaction ${row.id} does not know its account's user id`, `omni interaction authorize ${row.id}`);
  return account;
}

export function xchatGateway(ctx: Context, row: InteractionView, box: SecretBox, kysely: Parameters<typeof createUserTokenSource>[0]['db']): XGateway {
  const secrets = decryptSecrets(row, box);
  const clientId = row[OAUTH_CLIENT_COLUMNS.clientId];
  if (clientId === null) throw new UsageError(`interaction ${row.id} has no OAuth 2.0 client id`, `omni interaction authorize ${row.id}`);
  const clientSecret = row[OAUTH_CLIENT_COLUMNS.clientSecret];
  const baseUrl = apiBaseUrl(ctx.env);
  const timeoutMs = apiTimeoutMs(ctx.env);
  const authorizeCommand = `omni interaction authorize ${row.id}`;
  return createXGateway({
    baseUrl,
    timeoutMs,
    app: { apiKey: secrets.apiKey, apiSecretKey: secrets.apiSecretKey },
    authorizeCommand,
    editCommand: `omni interaction edit ${row.id}`,
    userToken: createUserTokenSource({
      db: kysely,
      box,
      interactionId: row.id,
      client: {
        apiBaseUrl: baseUrl,
        clientId: box.decrypt(clientId, OAUTH_CLIENT_COLUMNS.clientId),
        ...(clientSecret !== null ? { clientSecret: box.decrypt(clientSecret, OAUTH_CLIENT_COLUMNS.clientSecret) } : {}),
        timeoutMs,
        authorizeCommand,
      },
      now: ctx.clock,
    }),
  });
}
