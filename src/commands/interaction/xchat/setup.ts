// `omni interaction xchat setup <id|name> [--import-key-file <path>] [--rotate]`: the account's X Chat
// identity (src/xchat/setup.ts does the work). Prints public material only.
import fs from 'node:fs/promises';
import type { Context } from '../../../cli/context.js';
import { printJson, success, warn } from '../../../cli/output.js';
import { findInteraction } from '../../../db/interactions.js';
import { UsageError } from '../../../errors.js';
import { setupXChat } from '../../../xchat/setup.js';
import type { XChatIdentityView } from '../../../xchat/store.js';
import { requireXChatReady, xchatGateway } from './gateway.js';
import type { InteractionView } from '../../../db/interactions.js';
import type { XGateway } from '../../../twitter/gateway-v2.js';
import { CHAT_EVENT_TYPES, DM_EVENT_TYPES, describeSubscription, ensureSubscriptions, subscriptionTag } from '../../../webhooks/subscriptions.js';

export interface SetupOptions {
  importKeyFile?: string;
  rotate?: boolean;
  json?: boolean;
}

/** The 64-byte blob from a file: raw bytes, or base64 / hex text of them (as chat-xdk users keep it). */
export async function readKeyBlob(file: string): Promise<{ blob: Uint8Array; looseMode: boolean }> {
  let raw: Buffer;
  let mode: number;
  try {
    raw = await fs.readFile(file);
    mode = (await fs.stat(file)).mode;
  } catch (err) {
    throw new UsageError(`cannot read --import-key-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'give the path of the key blob file');
  }
  let blob: Buffer | undefined;
  if (raw.length === 64) blob = Buffer.from(raw); // a copy: raw is wiped below
  else {
    const text = raw.toString('utf8').trim();
    if (/^[0-9a-fA-F]{128}$/.test(text)) blob = Buffer.from(text, 'hex');
    else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
      const b = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
      if (b.length === 64) blob = b;
    }
  }
  raw.fill(0);
  if (!blob) {
    throw new UsageError(`--import-key-file ${file} does not hold a 64-byte X Chat key blob (raw, base64 or hex)`, 'give the file chat-xdk exportKeys() or another omni wrote, unchanged');
  }
  const out = new Uint8Array(blob);
  blob.fill(0);
  return { blob: out, looseMode: process.platform !== 'win32' && (mode & 0o077) !== 0 };
}

export function identityJson(v: XChatIdentityView | undefined) {
  if (!v) return null;
  return {
    keyVersion: v.keyVersion,
    publicKeyVersion: v.publicKeyVersion,
    fingerprint: v.fingerprint,
    accountUserId: v.accountUserId,
    origin: v.origin,
    status: v.status,
    registeredAt: v.registeredAt,
    createdAt: v.createdAt,
  };
}

export async function setupAction(ctx: Context, [ref]: [string], opts: SetupOptions): Promise<number> {
  const db = await ctx.db();
  const row = await findInteraction(db.kysely, ref);
  const account = await requireXChatReady(ctx, row);
  const imported = opts.importKeyFile === undefined ? undefined : await readKeyBlob(opts.importKeyFile);
  if (imported?.looseMode) warn(ctx, `${opts.importKeyFile} can be read by other users; after the import, delete it or keep it offline (chmod 600)`);
  const box = await ctx.secrets();
  const gw = xchatGateway(ctx, row, box, db.kysely);
  const command = `omni interaction xchat setup ${row.id}`;
  try {
    const result = await setupXChat({
      db: db.kysely,
      box,
      api: gw,
      interactionId: row.id,
      accountUserId: account,
      rotate: Boolean(opts.rotate),
      ...(imported ? { importBlob: imported.blob } : {}),
      now: ctx.clock,
      actor: ctx.actor,
      command,
      beforeRegistration: () => warn(ctx, `registering the X Chat public keys of user ${account} at X: X allows only a few key registrations per account per 24 h`),
    });
    const v = result.identity;
    const subscriptions = await subscribeChat(row, account, gw);
    if (opts.json) printJson(ctx, { interactionId: row.id, action: result.action, identity: identityJson(v), replaced: identityJson(result.replaced), subscriptions });
    const verb = { registered: 'registered', rotated: 'rotated to new keys', resumed: 'registered (the pending keys)', imported: 'imported' }[result.action];
    success(ctx, `X Chat ${verb} for interaction ${row.id} '${row.name}': key version ${v.keyVersion}, X public key version ${v.publicKeyVersion}, fingerprint ${v.fingerprint}`);
    if (result.replaced) {
      ctx.err(`the previous keys (key version ${result.replaced.keyVersion}, fingerprint ${result.replaced.fingerprint}) are kept, retired: conversation keys already learned keep working`);
    }
    if (subscriptions.error !== null) warn(ctx, `the X Chat subscriptions could not be made sure of: ${subscriptions.error} (fix: ${subscriptions.fix})`);
    else if (subscriptions.created.length > 0) success(ctx, `subscribed: ${subscriptions.created.join('; ')}`);
    else if (subscriptions.present.length > 0) ctx.err(`already subscribed: ${subscriptions.present.join('; ')}`);
    else if (subscriptions.fix !== null) ctx.err(`not subscribed to chat.received/chat.sent yet: ${subscriptions.fix}`);
    ctx.err(`back up the database's secret key (${box.source}) with the database: without it the stored X Chat keys cannot be read (docs/xchat.md)`);
    return 0;
  } finally {
    gw.close();
  }
}

export interface ChatSubscriptions {
  /** 'webhook' (the interaction's registered X webhook), 'stream' (omni listen --stream), or null: neither in use yet. */
  via: 'webhook' | 'stream' | null;
  created: string[];
  present: string[];
  error: string | null;
  fix: string | null;
}

/**
 * Once the keys are registered: the chat.received/chat.sent subscriptions of the account, where its
 * DMs already go: on its registered webhook, or for the stream when its dm.* subscriptions have no
 * webhook (omni listen --stream made them). Neither in use: nothing is created, and it says how.
 */
async function subscribeChat(row: InteractionView, account: string, gw: XGateway): Promise<ChatSubscriptions> {
  const none = { created: [] as string[], present: [] as string[] };
  if (row.api !== 'activity') return { via: null, ...none, error: null, fix: null };
  try {
    let webhookId: string | null | undefined = row.webhook_id ?? undefined;
    if (webhookId === undefined) {
      const tag = subscriptionTag(row.id);
      const ours = (await gw.listActivitySubscriptions()).filter((x) => x.userId === account && (x.tag === tag || (DM_EVENT_TYPES as readonly string[]).includes(x.eventType)));
      if (ours.some((x) => x.webhookId === null)) webhookId = null;
    }
    if (webhookId === undefined) {
      return { via: null, ...none, error: null, fix: `omni webhook register ${row.id} (or omni listen --stream) subscribes chat.* with dm.*` };
    }
    const r = await ensureSubscriptions(gw, { api: 'activity', interactionId: row.id, accountUserId: account, webhookId, eventTypes: CHAT_EVENT_TYPES });
    return { via: webhookId === null ? 'stream' : 'webhook', created: r.created.map(describeSubscription), present: r.present.map(describeSubscription), error: null, fix: null };
  } catch (err) {
    const e = err as { message?: string; hint?: string };
    return { via: null, ...none, error: e.message ?? String(err), fix: e.hint ?? `omni webhook register ${row.id}` };
  }
}
