// Table types for Kysely. Ids are integers; Twitter ids are TEXT (64-bit ids do not survive JS numbers).
// Booleans are INTEGER 0/1 and timestamps ISO-8601 TEXT (UTC), so the SQL stays portable to PostgreSQL.
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

type Id = Generated<number>;

export interface CatalogTable {
  id: Id;
  name: string;
  created_at: string;
}

export interface ActivityTable extends CatalogTable {
  portfolio_id: number;
}

export interface ParameterTable {
  number: number;
  value: string;
  updated_at: string;
}

export interface InteractionTable {
  id: Id;
  name: string;
  channel: string;
  unit_id: number | null;
  group_id: number | null;
  activity_id: number | null;
  contact_origin_id: number | null;
  helper_interception: Generated<number>;
  /** The X API generation: 'v1.1' | 'v2' | 'activity' (migration 0007; rows from before are 'v1.1'). */
  api: Generated<string>;
  /** The premium v1.1 dev environment label; '' for the other generations. */
  dev_environment: string;
  /** AES-256-GCM envelopes (see src/secrets.ts); never plain text. */
  api_key_enc: string;
  api_secret_key_enc: string;
  access_token_enc: string;
  access_token_secret_enc: string;
  /** The app's OAuth 2.0 client id and secret (envelopes like the others); null when not given. */
  client_id_enc: Generated<string | null>;
  client_secret_enc: Generated<string | null>;
  callback_url: string;
  /** The Twitter account the credentials belong to (set by `webhook register`). */
  account_user_id: string | null;
  account_screen_name: string | null;
  webhook_id: string | null;
  webhook_url: string | null;
  webhook_valid: number | null;
  subscribed: number | null;
  webhook_checked_at: string | null;
  webhook_last_error: string | null;
  revoked_at: string | null;
  deleted_at: string | null;
  created_at: string;
  updated_at: string;
  /** No inbound DM for this long (seconds) while all else is healthy is an alert (migration 0016); null: off. */
  silence_alert_seconds: Generated<number | null>;
}

export interface AuditTable {
  id: Id;
  at: string;
  actor: string;
  entity: string;
  entity_id: string;
  action: string;
  /** JSON object of what changed; secret fields appear only as "changed". */
  changes: string;
}

export interface RequesterTable {
  id: Id;
  twitter_user_id: string;
  screen_name: string | null;
  name: string | null;
  unit_id: number | null;
  group_id: number | null;
  created_at: string;
  updated_at: string;
  /** Set by `omni requester erase`: names gone, twitter_user_id replaced by "erased:<id>". */
  erased_at: string | null;
}

export interface TicketTable {
  id: Id;
  interaction_id: number;
  requester_id: number;
  status: 'open' | 'closed';
  subject: string;
  unit_id: number | null;
  group_id: number | null;
  activity_id: number | null;
  contact_origin_id: number | null;
  contract_id: number | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface MessageTable {
  id: Id;
  ticket_id: number;
  interaction_id: number;
  direction: 'inbound' | 'outbound';
  text: string;
  /** The DM event id (string); unique per interaction: the dedup key. */
  twitter_event_id: string | null;
  sender_twitter_id: string | null;
  sent_at: string;
  /** JSON array of { type, mediaUrl, idStr, ... }. */
  attachments: Generated<string>;
  created_at: string;
  /** Set when erase or retention removed the text and attachments. */
  redacted_at: string | null;
}

/** delivery_unrouted: a delivery on a shared webhook for an account no interaction owns (not stored). */
/** chat_rejected: an X Chat event refused (bad signature, unknown key version…; result is the reason, never stored as words). */
export type WebhookEventKind = 'crc_answered' | 'crc_refused' | 'watchdog' | 'delivery_unrouted' | 'chat_rejected';

export interface WebhookEventTable {
  id: Id;
  interaction_id: number;
  at: string;
  kind: WebhookEventKind;
  /** crc_answered: "answered"; crc_refused: the reason; watchdog: valid, revalidated, invalid, missing, rate_limited, error; delivery_unrouted: no_owner; chat_rejected: the refusal reason (bad_signature, unknown_key_version…). */
  result: string;
  detail: string | null;
  /** The client address of a CRC (X-Forwarded-For first, else the socket). */
  remote: string | null;
}

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed';

export interface OutboxTable {
  id: Id;
  interaction_id: number;
  ticket_id: number | null;
  /** The outbound message this row delivers, when it belongs to a ticket. */
  message_id: number | null;
  conversation_id: number | null;
  recipient_twitter_id: string;
  text: string;
  /** JSON array of quick-reply options, or null. */
  options: string | null;
  status: OutboxStatus;
  attempts: Generated<number>;
  /** pending: not before; sending: when the claim's lease ends. */
  next_attempt_at: string;
  last_error: string | null;
  last_error_kind: string | null;
  twitter_dm_id: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
}

export interface HelperConversationTable {
  id: Id;
  interaction_id: number;
  requester_id: number;
  status: 'active' | 'handed_off' | 'expired';
  state: string;
  ticket_id: number | null;
  last_activity_at: string;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
}

export interface HelperMessageTable {
  id: Id;
  conversation_id: number;
  interaction_id: number;
  direction: 'inbound' | 'outbound';
  text: string;
  payload: string | null;
  twitter_event_id: string | null;
  attachments: Generated<string>;
  outbox_id: number | null;
  sent_at: string;
  created_at: string;
}

export interface HelperJobTable {
  id: Id;
  conversation_id: number;
  helper_message_id: number;
  status: 'pending' | 'working' | 'done' | 'skipped';
  attempts: Generated<number>;
  next_attempt_at: string;
  outcome: string | null;
  created_at: string;
  updated_at: string;
}

/** OAuth 2.0 user authorization of an interaction (migration 0006). */
export interface OAuthTokenTable {
  interaction_id: number;
  access_token_enc: string;
  refresh_token_enc: string | null;
  expires_at: string;
  scopes: string;
  account_user_id: string | null;
  account_username: string | null;
  generation: Generated<number>;
  refreshed_at: string | null;
  refresh_lease_owner: string | null;
  refresh_lease_until: string | null;
  lost_at: string | null;
  lost_reason: string | null;
  created_at: string;
  updated_at: string;
}

/** The tombstone of erased DMs: a keyed hash of each DM event id, nothing else (src/privacy/tombstone.ts). */
export interface ErasedEventTable {
  id: Id;
  interaction_id: number | null;
  event_hash: string;
  erased_at: string;
}

/** omni's own named settings (not 4biz's numbered parameters), e.g. messages.retention. */
export interface SettingTable {
  name: string;
  value: string;
  updated_at: string;
}

/** A replay job of an X webhook (migration 0012): its request and the replay_job_status X reported. */
export interface ReplayJobTable {
  job_id: string;
  webhook_id: string;
  interaction_id: number | null;
  /** 'requested' until X reports, then X's job_state ('Complete', 'Incomplete', …). */
  state: string;
  /** X's job_state_description. */
  description: string | null;
  requested_at: string | null;
  reported_at: string | null;
}

/** The account's X Chat identity per key version (migration 0011); the key blob only as an envelope. */
export interface XChatIdentityTable {
  id: Id;
  interaction_id: number;
  account_user_id: string;
  key_version: number;
  public_key_version: string | null;
  fingerprint: string;
  public_key: string;
  signing_public_key: string;
  identity_public_key_signature: string | null;
  registration_json: string | null;
  key_blob_enc: string;
  origin: 'generated' | 'imported';
  status: 'pending' | 'active' | 'retired';
  registered_at: string | null;
  retired_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Conversation keys of X Chat conversations, encrypted (migration 0011). */
export interface XChatConversationKeyTable {
  id: Id;
  interaction_id: number;
  conversation_id: string;
  key_version: string;
  key_enc: string;
  via: 'key-change' | 'created';
  created_at: string;
}

/** An X Chat conversation of an interaction with one customer (migration 0014). */
export interface XChatConversationTable {
  id: Id;
  interaction_id: number;
  peer_user_id: string;
  conversation_id: string;
  conversation_token: string | null;
  last_message_id: string | null;
  last_message_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface Database {
  units: CatalogTable;
  groups: CatalogTable;
  portfolios: CatalogTable;
  activities: ActivityTable;
  contact_origins: CatalogTable;
  contracts: CatalogTable;
  parameters: ParameterTable;
  interactions: InteractionTable;
  audit_log: AuditTable;
  requesters: RequesterTable;
  tickets: TicketTable;
  messages: MessageTable;
  webhook_events: WebhookEventTable;
  outbox: OutboxTable;
  helper_conversations: HelperConversationTable;
  helper_messages: HelperMessageTable;
  helper_jobs: HelperJobTable;
  oauth_tokens: OAuthTokenTable;
  erased_events: ErasedEventTable;
  settings: SettingTable;
  replay_jobs: ReplayJobTable;
  listener_heartbeats: ListenerHeartbeatTable;
  xchat_identities: XChatIdentityTable;
  xchat_conversation_keys: XChatConversationKeyTable;
  xchat_conversations: XChatConversationTable;
  interaction_health: InteractionHealthTable;
  health_transitions: HealthTransitionTable;
  reconcile_state: ReconcileStateTable;
  x_history_reads: XHistoryReadTable;
  listener_cache_version: ListenerCacheVersionTable;
  fleet_jobs: FleetJobTable;
}

/** Migration 0017: moves whenever a column the listener caches of an interaction changes (src/db/listener-reads.ts). */
export interface ListenerCacheVersionTable {
  id: number;
  version: number;
}

/** Migration 0017: when each once-per-fleet job last ran (src/db/fleet.ts). */
export interface FleetJobTable {
  job: string;
  last_run_at: string;
  owner: string;
}

/** Migration 0016: what the listeners saw of each interaction (src/db/health.ts). */
export interface InteractionHealthTable {
  interaction_id: number;
  /** JSON array of descriptions; '[]' when all were present. */
  subscriptions_missing: string | null;
  subscriptions_checked_at: string | null;
  stream_connected_since: string | null;
  stream_updated_at: string | null;
  x_error_kind: string | null;
  x_error_status: number | null;
  x_error_message: string | null;
  x_error_at: string | null;
  rate_limited_until: string | null;
  last_reconcile_at: string | null;
  last_reconcile_found: number | null;
  updated_at: string;
}

/** Migration 0016: entering/leaving an unhealthy state, and its notification. */
export interface HealthTransitionTable {
  id: Id;
  interaction_id: number;
  state: string;
  episode: number;
  edge: 'enter' | 'leave';
  since: string;
  text: string;
  recorded_at: string;
  sent_at: string | null;
  attempts: Generated<number>;
  next_attempt_at: string;
  claimed_until: string | null;
  last_error: string | null;
}

/** Migration 0015: per interaction, how far X's DM history was read and who may read it now (src/db/reconcile.ts). */
export interface ReconcileStateTable {
  interaction_id: number;
  cursor_event_id: string | null;
  cursor_at: string | null;
  last_run_at: string | null;
  last_read: number | null;
  last_found: number | null;
  last_error: string | null;
  limited_until: string | null;
  lease_owner: string | null;
  lease_until: string | null;
}

/** Migration 0015: a DM event read from X's history, once per UTC day; imported when it was missing. */
export interface XHistoryReadTable {
  day: string;
  interaction_id: number;
  event_id: string;
  imported: Generated<number>;
  at: string;
}

/** Migration 0010: when each listener was last alive (src/db/heartbeats.ts). */
export interface ListenerHeartbeatTable {
  listener: string;
  pid: number;
  started_at: string;
  last_alive_at: string;
  stopped_at: string | null;
}

export type Interaction = Selectable<InteractionTable>;
export type NewInteraction = Insertable<InteractionTable>;
export type InteractionUpdate = Updateable<InteractionTable>;
export type CatalogEntry = Selectable<CatalogTable>;
export type Activity = Selectable<ActivityTable>;
export type Requester = Selectable<RequesterTable>;
export type Ticket = Selectable<TicketTable>;
export type Message = Selectable<MessageTable>;
export type AuditEntry = Selectable<AuditTable>;
export type WebhookEvent = Selectable<WebhookEventTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type OAuthTokenRow = Selectable<OAuthTokenTable>;
export type ReplayJob = Selectable<ReplayJobTable>;
