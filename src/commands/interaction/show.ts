// `omni interaction show`: read-only; the form as key-value rows, interactionJson with --json.
import type { Context } from '../../cli/context.js';
import { DbError } from '../../db/errors.js';
import { findInteraction, type InteractionView } from '../../db/interactions.js';
import { printJson } from '../../cli/output.js';
import { maskSecret } from '../../secrets.js';
import {
  API_GENERATIONS,
  decryptSecrets,
  isApiGeneration,
  interactionJson,
  valuesFromRow,
  webhookState,
} from '../../interactions/model.js';
import { listOAuthTokenStates } from '../../db/oauth-tokens.js';
import { authorizationJson, authorizationLine } from '../../interactions/authorization.js';
import { alignRows, formRows, type Row } from './format.js';

interface ShowOptions {
  json?: boolean;
  showSecrets?: boolean;
}

/** Live interactions first: a deleted one only answers when no live one has that id or name. */
async function findForShow(ctx: Context, ref: string): Promise<InteractionView> {
  const db = (await ctx.db()).kysely;
  try {
    return await findInteraction(db, ref);
  } catch (err) {
    if (!(err instanceof DbError)) throw err;
    return findInteraction(db, ref, true).catch(() => {
      throw err;
    });
  }
}

export async function showAction(ctx: Context, [ref]: [string], opts: ShowOptions): Promise<number> {
  const row = await findForShow(ctx, ref);
  const box = await ctx.secrets();
  const db = (await ctx.db()).kysely;
  const authorization = authorizationJson(row.api, row.id, (await listOAuthTokenStates(db, [row.id]))[0]);
  if (opts.json) {
    printJson(ctx, { ...interactionJson(row, box, Boolean(opts.showSecrets)), authorization });
    return 0;
  }
  const secrets = decryptSecrets(row, box);
  const shown = opts.showSecrets ? secrets : {
    apiKey: maskSecret(secrets.apiKey),
    apiSecretKey: maskSecret(secrets.apiSecretKey),
    accessToken: maskSecret(secrets.accessToken),
    accessTokenSecret: maskSecret(secrets.accessTokenSecret),
  };
  const rows: Row[] = [
    ...formRows(row.id, valuesFromRow(row), shown),
    ['Webhook', webhookState(row) + (row.webhook_id ? ` (id ${row.webhook_id}${row.webhook_checked_at ? `, checked ${row.webhook_checked_at}` : ''})` : '')],
  ];
  rows.push(['X authorization (OAuth 2.0)', authorizationLine(authorization)]);
  if (isApiGeneration(row.api)) rows.push(['What it needs', API_GENERATIONS[row.api].needs]);
  if (row.webhook_last_error) rows.push(['Webhook last error', row.webhook_last_error]);
  if (row.account_user_id) rows.push(['Twitter account', `${row.account_screen_name ? '@' + row.account_screen_name + ' ' : ''}(user id ${row.account_user_id})`]);
  rows.push(['Created', row.created_at], ['Updated', row.updated_at]);
  if (row.revoked_at) rows.push(['Revoked', row.revoked_at]);
  if (row.deleted_at) rows.push(['Deleted', row.deleted_at]);
  for (const line of alignRows(rows)) ctx.out(line);
  return 0;
}
