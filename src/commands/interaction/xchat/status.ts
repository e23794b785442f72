// `omni interaction xchat status <id|name> [--json]`: the X Chat identity as stored (no call to X):
// key versions and the fingerprint, the pending registration, the conversation key cache. Never key bytes.
import type { Context } from '../../../cli/context.js';
import { printJson } from '../../../cli/output.js';
import { findInteraction } from '../../../db/interactions.js';
import { terminalSafe } from '../../../terminal-text.js';
import { conversationKeyCounts, xchatState } from '../../../xchat/store.js';
import { alignRows } from '../format.js';
import { identityJson } from './setup.js';

export async function statusAction(ctx: Context, [ref]: [string], opts: { json?: boolean }): Promise<number> {
  const db = (await ctx.db()).kysely;
  const row = await findInteraction(db, ref);
  const state = await xchatState(db, row.id);
  const cache = await conversationKeyCounts(db, row.id);
  const setup = `omni interaction xchat setup ${row.id}`;
  const status = state.active ? 'active' : state.pending ? 'pending' : 'not-set-up';
  const fix = state.active ? null : state.pending ? `${setup} (registers the pending keys)` : setup;
  if (opts.json) {
    printJson(ctx, {
      interactionId: row.id,
      status,
      identity: identityJson(state.active),
      pending: identityJson(state.pending),
      retiredKeys: state.retired,
      conversations: cache.conversations,
      conversationKeys: cache.keys,
      fix,
    });
    return 0;
  }
  const a = state.active;
  const rows: [string, string][] = [
    ['Interaction', `${row.id} '${terminalSafe(row.name)}'`],
    ['X Chat', status === 'active' ? 'set up' : status === 'pending' ? 'keys created, registration at X pending' : 'not set up'],
  ];
  if (a) {
    rows.push(
      ['Account', `user id ${a.accountUserId}`],
      ['Key version', `${a.keyVersion} (X public key version ${a.publicKeyVersion})`],
      ['Fingerprint', a.fingerprint],
      ['Keys', `${a.origin === 'imported' ? 'imported' : 'created by omni'}, registered ${a.registeredAt}`],
    );
  }
  if (state.pending) rows.push(['Pending keys', `key version ${state.pending.keyVersion}, fingerprint ${state.pending.fingerprint}, created ${state.pending.createdAt}`]);
  if (state.retired > 0) rows.push(['Retired keys', String(state.retired)]);
  rows.push(['Conversations', `${cache.conversations} with cached keys (${cache.keys} key${cache.keys === 1 ? '' : 's'})`]);
  ctx.out(alignRows(rows).join('\n'));
  if (fix) ctx.err(`fix: ${fix}`);
  return 0;
}
