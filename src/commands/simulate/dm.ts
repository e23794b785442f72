// `omni simulate dm`: builds (or reads) a delivery body, signs those exact bytes with the
// interaction's API secret, posts it to the listener and reports each event's outcome.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Context } from '../../cli/context.js';
import { OmniError, UsageError } from '../../errors.js';
import { parseTwitterId } from '../../cli/flags.js';
import { findInteraction } from '../../db/interactions.js';
import { decryptSecrets } from '../../interactions/model.js';
import { dmDeliveryBody, newEventId } from '../../twitter/deliveries.js';
import { SIGNATURE_HEADER, signBody } from '../../twitter/signature.js';
import { printJson, style, warn } from '../../cli/output.js';

interface SimulateOptions {
  text?: string;
  fromId?: string;
  fromName: string;
  eventId?: string;
  url?: string;
  fixture?: string;
  json?: boolean;
}

interface ResultJson {
  event: string;
  outcome: string;
  id?: string;
  sender?: string;
  screenName?: string | null;
  ticket?: number;
  message?: number;
  detail?: string;
}

/** A stable made-up Twitter id per screen name, so repeated simulations reach the same requester. */
export function simulatedUserId(screenName: string): string {
  const h = crypto.createHash('sha256').update(screenName.toLowerCase()).digest();
  return String(1_000_000_000 + (h.readUInt32BE(0) % 1_000_000_000));
}

export async function simulateDmAction(ctx: Context, [ref]: [string], opts: SimulateOptions): Promise<number> {
  if (!opts.fixture && (opts.text === undefined || opts.text === '')) {
    throw new UsageError('--text is required (or --fixture <file>)', 'example: omni simulate dm 1 --text "hello"');
  }
  const fromId = opts.fromId !== undefined ? parseTwitterId(opts.fromId, '--from-id') : undefined;
  const eventId = opts.eventId !== undefined ? parseTwitterId(opts.eventId, '--event-id') : undefined;
  const screenName = opts.fromName.replace(/^@/, '');

  const db = await ctx.db();
  const interaction = await findInteraction(db.kysely, ref);
  const secret = decryptSecrets(interaction, await ctx.secrets()).apiSecretKey;
  const base = opts.url ?? `http://${ctx.env.OMNI_HOST || '127.0.0.1'}:${ctx.env.OMNI_PORT || '8080'}`;
  let url: URL;
  try {
    url = new URL(`${base.replace(/\/+$/, '')}/webhooks/twitter/${interaction.id}`);
  } catch {
    throw new UsageError(`--url '${base}' is not a URL`, 'example: --url http://127.0.0.1:8080');
  }

  let body: Buffer;
  if (opts.fixture) {
    try {
      body = fs.readFileSync(opts.fixture);
    } catch (err) {
      throw new UsageError(`cannot read --fixture ${opts.fixture}: ${(err as Error).message}`);
    }
  } else {
    const account = interaction.account_user_id;
    if (!account) warn(ctx, `interaction ${interaction.id} has no known Twitter account yet (omni webhook register); for_user_id is sent as 0`);
    const senderId = fromId ?? simulatedUserId(screenName);
    if (account && senderId === account) warn(ctx, 'the sender is the interaction\'s own account: this simulates an echo');
    body = Buffer.from(
      dmDeliveryBody({
        forUserId: account ?? '0',
        events: [{ senderId, recipientId: account ?? '0', text: opts.text!, eventId: eventId ?? newEventId() }],
        users: { [senderId]: { name: screenName, screenName } },
      }),
    );
  }

  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', [SIGNATURE_HEADER]: signBody(secret, body) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new OmniError(`no answer from a listener at ${url.origin} (${cause})`, {
      hint: 'start one in another terminal with: omni listen (same --db), or point --url at it',
    });
  }
  const text = await response.text();
  let answer: { results?: ResultJson[]; error?: string } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // not JSON: reported below with the status
  }
  if (!response.ok) {
    throw new OmniError(`the listener refused the delivery: ${response.status} ${answer.error ?? text.slice(0, 200)}`, { hint: refusalHint(response.status) });
  }
  if (opts.json) {
    printJson(ctx, answer);
    return 0;
  }
  const s = style(ctx);
  for (const r of answer.results ?? []) {
    const who = r.screenName ? `@${r.screenName}` : r.sender ? `user ${r.sender}` : '';
    const ticket = r.ticket !== undefined ? ` ticket #${r.ticket}` : '';
    const detail = r.detail ? s.dim(` (${r.detail})`) : '';
    ctx.out(`${r.outcome.replace('_', ' ')}:${ticket} ${r.event}${who ? ` from ${who}` : ''}${detail}`);
  }
  const ticket = answer.results?.find((r) => r.ticket !== undefined)?.ticket;
  if (ticket !== undefined) ctx.err(s.dim(`see it with: omni ticket show ${ticket}`));
  return 0;
}

function refusalHint(status: number): string {
  switch (status) {
    case 401:
      return 'the listener checks with a different API secret: is it using the same database (--db / OMNI_DB) and key?';
    case 403:
      return "the body's for_user_id is not the interaction's account (a fixture recorded for another account?)";
    case 404:
      return 'the listener does not know this interaction: is it using the same database (--db / OMNI_DB)?';
    case 503:
      return "the listener's database cannot take writes right now; see its log";
    default:
      return "see the listener's log";
  }
}
