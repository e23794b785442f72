// The X Chat conversations of an interaction, one per customer (migration 0014): written when a
// verified message of the conversation arrives, read by the outbox to decide that what omni sends to
// that customer goes out encrypted to X Chat rather than as a classic DM. Public data only.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface XChatConversation {
  interactionId: number;
  peerUserId: string;
  /** `lo:hi` as signed. */
  conversationId: string;
  conversationToken: string | null;
  lastMessageId: string | null;
  lastMessageAt: string | null;
}

/** Whether the interaction has an active X Chat identity (its subscriptions then include chat.*). */
export async function hasActiveXChat(db: Kysely<Database>, interactionId: number): Promise<boolean> {
  const r = await db.selectFrom('xchat_identities').select('id').where('interaction_id', '=', interactionId).where('status', '=', 'active').executeTakeFirst();
  return r !== undefined;
}

/** Records (or refreshes) the conversation of `peerUserId`; a newer message moves its last-message fields. */
export async function rememberXChatConversation(
  db: Kysely<Database>,
  c: { interactionId: number; peerUserId: string; conversationId: string; conversationToken: string | undefined; messageId: string; messageAt: string; now: string },
): Promise<void> {
  const existing = await db.selectFrom('xchat_conversations').selectAll().where('interaction_id', '=', c.interactionId).where('peer_user_id', '=', c.peerUserId).executeTakeFirst();
  if (!existing) {
    await db
      .insertInto('xchat_conversations')
      .values({
        interaction_id: c.interactionId,
        peer_user_id: c.peerUserId,
        conversation_id: c.conversationId,
        conversation_token: c.conversationToken ?? null,
        last_message_id: c.messageId,
        last_message_at: c.messageAt,
        created_at: c.now,
        updated_at: c.now,
      })
      .onConflict((oc) => oc.columns(['interaction_id', 'peer_user_id']).doNothing())
      .execute();
    return;
  }
  const newer = existing.last_message_at === null || existing.last_message_at <= c.messageAt;
  await db
    .updateTable('xchat_conversations')
    .set({
      conversation_id: c.conversationId,
      conversation_token: c.conversationToken ?? existing.conversation_token,
      ...(newer ? { last_message_id: c.messageId, last_message_at: c.messageAt } : {}),
      updated_at: c.now,
    })
    .where('id', '=', existing.id)
    .execute();
}

/** The X Chat conversation of a customer, or undefined when they never wrote from X Chat. */
export async function xchatConversationWith(db: Kysely<Database>, interactionId: number, peerUserId: string): Promise<XChatConversation | undefined> {
  const r = await db.selectFrom('xchat_conversations').selectAll().where('interaction_id', '=', interactionId).where('peer_user_id', '=', peerUserId).executeTakeFirst();
  return r
    ? { interactionId: r.interaction_id, peerUserId: r.peer_user_id, conversationId: r.conversation_id, conversationToken: r.conversation_token, lastMessageId: r.last_message_id, lastMessageAt: r.last_message_at }
    : undefined;
}
