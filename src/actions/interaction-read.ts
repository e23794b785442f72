// `omni interaction list` and `omni interaction show`: read-only, a table / key-value view on a
// terminal, interactionJson with --json.
import type { Context } from '../context.js';
import { findCatalogEntry } from '../db/catalogs.js';
import { DbError } from '../db/errors.js';
import { findInteraction, listInteractionSummaries, listInteractions, type InteractionSummary, type InteractionView } from '../db/interactions.js';
import { printJson, printTable } from '../output.js';
import { maskSecret } from '../secrets.js';
import {
  decryptSecrets,
  interactionJson,
  valuesFromRow,
  webhookState,
} from '../interactions/model.js';
import {
  channelRule,
  flagError,
} from '../interactions/rules.js';
import { alignRows, formRows, type Row } from './interaction-format.js';

interface ListOptions {
  name?: string;
  channel?: string;
  unit?: string;
  group?: string;
  deleted?: boolean;
  json?: boolean;
}

function status(r: Pick<InteractionView, 'deleted_at' | 'revoked_at'>): string {
  if (r.deleted_at) return 'deleted';
  return r.revoked_at ? 'revoked' : 'active';
}

export async function listAction(ctx: Context, _args: [], opts: ListOptions): Promise<number> {
  if (opts.channel !== undefined) {
    const problem = channelRule(opts.channel);
    if (problem) throw flagError(problem);
  }
  const db = (await ctx.db()).kysely;
  const unit = opts.unit !== undefined ? await findCatalogEntry(db, 'unit', opts.unit) : undefined;
  const group = opts.group !== undefined ? await findCatalogEntry(db, 'group', opts.group) : undefined;
  const filter = {
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.channel !== undefined ? { channel: opts.channel } : {}),
    ...(unit ? { unitId: unit.id } : {}),
    ...(group ? { groupId: group.id } : {}),
    deleted: Boolean(opts.deleted),
  };
  if (opts.json) {
    const rows = await listInteractions(db, filter);
    // Only the JSON carries (masked) secrets, so only it needs the key.
    const box = rows.length > 0 ? await ctx.secrets() : undefined;
    printJson(ctx, rows.map((r) => interactionJson(r, box!)));
    return 0;
  }
  const rows = await listInteractionSummaries(db, filter);
  const filtered = opts.name !== undefined || opts.channel !== undefined || unit !== undefined || group !== undefined;
  printTable(
    ctx,
    [
      { header: 'id', value: (r: InteractionSummary) => r.id },
      { header: 'name', value: (r) => r.name },
      { header: 'channel', value: (r) => r.channel },
      { header: 'unit', value: (r) => r.unit_name },
      { header: 'group', value: (r) => r.group_name },
      { header: 'dev env', value: (r) => r.dev_environment },
      { header: 'webhook', value: (r) => webhookState(r) },
      { header: 'status', value: (r) => status(r) },
    ],
    rows,
    opts.deleted
      ? 'no deleted interactions'
      : filtered
        ? 'no interaction matches these filters; list them all with: omni interaction list'
        : 'no interactions yet; create one with: omni interaction new (a wizard on a terminal; see --help for scripts)',
  );
  return 0;
}

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
  if (opts.json) {
    printJson(ctx, interactionJson(row, box, Boolean(opts.showSecrets)));
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
  if (row.webhook_last_error) rows.push(['Webhook last error', row.webhook_last_error]);
  if (row.account_user_id) rows.push(['Twitter account', `${row.account_screen_name ? '@' + row.account_screen_name + ' ' : ''}(user id ${row.account_user_id})`]);
  rows.push(['Created', row.created_at], ['Updated', row.updated_at]);
  if (row.revoked_at) rows.push(['Revoked', row.revoked_at]);
  if (row.deleted_at) rows.push(['Deleted', row.deleted_at]);
  for (const line of alignRows(rows)) ctx.out(line);
  return 0;
}
