// The intake's hot path: synchronous better-sqlite3 prepared statements, prepared once per listener.
// The listener runs them inside one transaction per batch of deliveries (group commit), so a
// delivery costs a handful of index lookups and inserts, and the fsync is shared by the batch.
// Plain portable SQL (SQLite ≥ 3.35 and PostgreSQL both have ON CONFLICT … RETURNING).
import type BetterSqlite3 from 'better-sqlite3';
import { createReplayJobStatusWriter, type ReplayJobStatus } from './replay-jobs.js';
import { createTicketWrites, type TicketWrites } from './tickets.js';

/**
 * An interaction as the intake sees it: its account (echo and for_user_id checks), the ticket
 * defaults and the Helper chatbot switch. The one declaration of this shape: the pipeline, the
 * chatbot and the listener's write jobs all use it.
 */
export interface IntakeInteraction {
  id: number;
  account_user_id: string | null;
  unit_id: number | null;
  group_id: number | null;
  activity_id: number | null;
  contact_origin_id: number | null;
  helper_interception: number;
}

/**
 * The columns of an interaction the listener reads: the intake's view plus routing and the secret.
 * Its account_user_id is the interaction's, else the account its OAuth 2.0 authorization names.
 */
export interface IntakeInteractionRow extends IntakeInteraction {
  name: string;
  api_secret_key_enc: string;
  revoked_at: string | null;
  /** The X API generation: 'v1.1' | 'v2' | 'activity'. */
  api: string;
  /** v2/activity: X's /2/webhooks id, shared by the interactions of one app; v1.1: the dev environment's webhook. */
  webhook_id: string | null;
}

/** An interaction on a shared webhook and the account it owns (null when not known yet). */
export interface WebhookAccount {
  id: number;
  account: string | null;
}

/** Just the intake's columns of a row: what crosses to the writer thread (never the secret). */
export function intakeInteractionOf(row: IntakeInteraction): IntakeInteraction {
  const { id, account_user_id, unit_id, group_id, activity_id, contact_origin_id, helper_interception } = row;
  return { id, account_user_id, unit_id, group_id, activity_id, contact_origin_id, helper_interception };
}

export interface StoredMessageRef {
  id: number;
  ticket_id: number;
  direction: 'inbound' | 'outbound';
}

/** A requester as the intake reads it before a DM: its names (to see whether they changed) and its open ticket on the interaction. */
export interface KnownRequester {
  id: number;
  screen_name: string | null;
  name: string | null;
  /** The requester's open ticket on the interaction, else null. */
  ticket_id: number | null;
}

export interface NewRequesterRow {
  twitterUserId: string;
  screenName: string | null;
  name: string | null;
  unitId: number | null;
  groupId: number | null;
  at: string;
}

/** The parameters the intake falls back on when an interaction names no default. */
export const INTAKE_PARAMETERS = [118, 315, 317, 390] as const;

/** The intake's statements; opening tickets and storing messages are the shared ones of src/db/tickets.ts. */
export interface IntakeStore extends TicketWrites {
  /** A live (not deleted) interaction, or undefined. One primary-key lookup. */
  interaction(id: number): IntakeInteractionRow | undefined;
  /** The live v2/activity interactions on X webhook `webhookId` and their accounts: who owns a delivery on a shared webhook. */
  webhookAccounts(webhookId: string): WebhookAccount[];
  /** Live interactions (id and name), for the start-up banner. */
  liveInteractions(): Array<{ id: number; name: string; account_user_id: string | null }>;
  /** Values of INTAKE_PARAMETERS that are set. */
  intakeParameters(): Map<number, string>;
  /** The message already stored for this DM event on this interaction (the dedup key). */
  messageByEvent(interactionId: number, twitterEventId: string): StoredMessageRef | undefined;
  /** Creates the requester or refreshes its names (a missing name keeps the stored one; updated_at
   *  moves only when a name changed); returns its id. */
  upsertRequester(row: NewRequesterRow): number;
  requesterIdByTwitterId(twitterUserId: string): number | undefined;
  /** The requester with this Twitter id, its names and its open ticket on the interaction: one indexed read for most DMs. */
  knownRequester(interactionId: number, twitterUserId: string): KnownRequester | undefined;
  /** Sets revoked_at unless already set; true when it changed. */
  markRevoked(interactionId: number, at: string): boolean;
  /**
   * The tombstone hash of this DM event id when its requester was erased (the DM must be dropped),
   * else undefined. One HMAC and one lookup on a unique index. Without `eventHash` (readers that
   * never store a DM) it always says undefined.
   */
  erasedEvent(twitterEventId: string): string | undefined;
  /** True once any requester was erased (erased_events has a row): until then erasedEvent needs neither its HMAC nor its lookup. */
  hasErasedEvents(): boolean;
  /** Records the replay_job_status X delivered at the end of a webhook replay (src/db/replay-jobs.ts). */
  recordReplayJobStatus(status: ReplayJobStatus): void;
  /** A cheap read that proves the database answers. */
  ping(): void;
}

/** knownRequester's statement, the same on both engines but for the placeholders (`?` here, `$1 $2` on PostgreSQL). */
export const KNOWN_REQUESTER_SQL = `SELECT r.id, r.screen_name, r.name,
       (SELECT t.id FROM tickets t WHERE t.interaction_id = ? AND t.requester_id = r.id AND t.status = 'open') AS ticket_id
  FROM requesters r WHERE r.twitter_user_id = ?`;

/**
 * True when upsertRequester would change the stored names: a name given that differs (a missing
 * name keeps the stored one).
 */
export function namesChange(known: Pick<KnownRequester, 'screen_name' | 'name'>, screenName: string | null, name: string | null): boolean {
  return (screenName !== null && screenName !== known.screen_name) || (name !== null && name !== known.name);
}

export interface IntakeStoreOptions {
  /** The keyed hash of a DM event id, as `omni requester erase` stores it in erased_events. */
  eventHash?: (twitterEventId: string) => string;
}

export function createIntakeStore(sqlite: BetterSqlite3.Database, opts: IntakeStoreOptions = {}): IntakeStore {
  const interaction = sqlite.prepare<[number], IntakeInteractionRow>(
    `SELECT i.id, i.name, i.api_secret_key_enc, COALESCE(i.account_user_id, t.account_user_id) AS account_user_id, i.unit_id, i.group_id,
            i.activity_id, i.contact_origin_id, i.helper_interception, i.revoked_at, i.api, i.webhook_id
       FROM interactions i LEFT JOIN oauth_tokens t ON t.interaction_id = i.id
      WHERE i.id = ? AND i.deleted_at IS NULL`,
  );
  const webhookAccounts = sqlite.prepare<[string], WebhookAccount>(
    `SELECT i.id, COALESCE(i.account_user_id, t.account_user_id) AS account
       FROM interactions i LEFT JOIN oauth_tokens t ON t.interaction_id = i.id
      WHERE i.webhook_id = ? AND i.deleted_at IS NULL AND i.api <> 'v1.1'
      ORDER BY i.id`,
  );
  const live = sqlite.prepare<[], { id: number; name: string; account_user_id: string | null }>(
    `SELECT i.id, i.name, COALESCE(i.account_user_id, t.account_user_id) AS account_user_id
       FROM interactions i LEFT JOIN oauth_tokens t ON t.interaction_id = i.id WHERE i.deleted_at IS NULL ORDER BY i.id`,
  );
  const params = sqlite.prepare<[], { number: number; value: string }>(
    `SELECT number, value FROM parameters WHERE number IN (${INTAKE_PARAMETERS.join(', ')})`,
  );
  const messageByEvent = sqlite.prepare<[number, string], StoredMessageRef>(
    'SELECT id, ticket_id, direction FROM messages WHERE interaction_id = ? AND twitter_event_id = ?',
  );
  const upsertRequester = sqlite.prepare<[string, string | null, string | null, number | null, number | null, string, string], { id: number }>(
    `INSERT INTO requesters (twitter_user_id, screen_name, name, unit_id, group_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (twitter_user_id) DO UPDATE SET
       screen_name = COALESCE(excluded.screen_name, requesters.screen_name),
       name = COALESCE(excluded.name, requesters.name),
       updated_at = excluded.updated_at
     WHERE requesters.screen_name IS NOT COALESCE(excluded.screen_name, requesters.screen_name)
        OR requesters.name IS NOT COALESCE(excluded.name, requesters.name)
     RETURNING id`,
  );
  const requesterByTwitterId = sqlite.prepare<[string], { id: number }>('SELECT id FROM requesters WHERE twitter_user_id = ?');
  const knownRequester = sqlite.prepare<[number, string], KnownRequester>(KNOWN_REQUESTER_SQL);
  const markRevoked = sqlite.prepare<[string, string, number]>(
    'UPDATE interactions SET revoked_at = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL',
  );
  const ping = sqlite.prepare('SELECT 1');
  const erased = sqlite.prepare<[string], { n: number }>('SELECT 1 AS n FROM erased_events WHERE event_hash = ?');
  const anyErased = sqlite.prepare<[], { n: number }>('SELECT 1 AS n FROM erased_events LIMIT 1');
  const eventHash = opts.eventHash;

  return {
    ...createTicketWrites(sqlite),
    interaction: (id) => interaction.get(id),
    webhookAccounts: (webhookId) => webhookAccounts.all(webhookId),
    liveInteractions: () => live.all(),
    intakeParameters: () => new Map(params.all().map((r) => [r.number, r.value])),
    messageByEvent: (interactionId, eventId) => messageByEvent.get(interactionId, eventId),
    // A returning sender whose names did not change is not rewritten (no RETURNING row then): most
    // DMs come from returning senders, and an unchanged row need not cost a page in every commit.
    upsertRequester: (r) =>
      upsertRequester.get(r.twitterUserId, r.screenName, r.name, r.unitId, r.groupId, r.at, r.at)?.id ?? requesterByTwitterId.get(r.twitterUserId)!.id,
    requesterIdByTwitterId: (twitterUserId) => requesterByTwitterId.get(twitterUserId)?.id,
    knownRequester: (interactionId, twitterUserId) => knownRequester.get(interactionId, twitterUserId),
    markRevoked: (interactionId, at) => markRevoked.run(at, at, interactionId).changes > 0,
    erasedEvent: (eventId) => {
      if (!eventHash) return undefined;
      const hash = eventHash(eventId);
      return erased.get(hash) ? hash : undefined;
    },
    hasErasedEvents: () => anyErased.get() !== undefined,
    recordReplayJobStatus: createReplayJobStatusWriter(sqlite),
    ping: () => {
      ping.get();
    },
  };
}
