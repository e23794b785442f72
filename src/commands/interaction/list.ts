// `omni interaction list`: read-only; a table on a terminal, interactionJson with --json.
import type { Context } from '../../cli/context.js';
import { findCatalogEntry } from '../../db/catalogs.js';
import { listInteractionSummaries, listInteractions, type InteractionSummary, type InteractionView } from '../../db/interactions.js';
import { printJson, printTable } from '../../cli/output.js';
import { interactionJson, webhookState } from '../../interactions/model.js';
import { listOAuthTokenStates } from '../../db/oauth-tokens.js';
import { authorizationJson, authorizationShort } from '../../interactions/authorization.js';
import {
  channelRule,
  flagError,
} from '../../interactions/rules.js';

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
    const states = new Map((await listOAuthTokenStates(db)).map((s) => [s.interaction_id, s]));
    printJson(ctx, rows.map((r) => ({ ...interactionJson(r, box!), authorization: authorizationJson(r.api, r.id, states.get(r.id)) })));
    return 0;
  }
  const rows = await listInteractionSummaries(db, filter);
  const states = new Map((await listOAuthTokenStates(db)).map((s) => [s.interaction_id, s]));
  const filtered = opts.name !== undefined || opts.channel !== undefined || unit !== undefined || group !== undefined;
  printTable(
    ctx,
    [
      { header: 'id', value: (r: InteractionSummary) => r.id },
      { header: 'name', value: (r) => r.name },
      { header: 'channel', value: (r) => r.channel },
      { header: 'unit', value: (r) => r.unit_name },
      { header: 'group', value: (r) => r.group_name },
      { header: 'api', value: (r) => r.api },
      { header: 'dev env', value: (r) => r.dev_environment || '-' },
      { header: 'authorization', value: (r) => authorizationShort(authorizationJson(r.api, r.id, states.get(r.id))) },
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
