// Account health (issue 18): what the running listeners saw of each interaction, so `omni status`
// run anywhere tells the same story. `interaction_health`: one row per interaction, written by the
// watchdog (subscriptions present), the stream (connected since), the X gateway
// (the last refusal of X, named: authorization lost, credits depleted, app not enrolled, rate
// limited until …) and reconciliation (when, how many found). `health_transitions`: one row per
// entering or leaving of an unhealthy state; its unique key (interaction, state, episode, edge) lets
// exactly one of several listeners record a transition, and the row is the notification to send.
// `interactions.silence_alert_seconds`: the per-interaction silence alert (null: off).
import { sql, type Kysely } from 'kysely';
import { id } from './portable.js';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('interaction_health')
    .addColumn('interaction_id', 'integer', (c) => c.primaryKey().references('interactions.id'))
    // The webhook's validity is on the interaction (webhook_valid, webhook_checked_at: the watchdog and
    // the webhook commands keep it). The watchdog's last look at the subscriptions: a JSON array of
    // the ones found missing (descriptions), '[]' when all were present.
    .addColumn('subscriptions_missing', 'text')
    .addColumn('subscriptions_checked_at', 'text')
    // --stream: since when the activity stream carrying this interaction is connected (null: not).
    .addColumn('stream_connected_since', 'text')
    .addColumn('stream_updated_at', 'text')
    // The last refusal of X, named (src/health/model.ts XERROR_STATES); cleared by a later success.
    .addColumn('x_error_kind', 'text')
    .addColumn('x_error_status', 'integer')
    .addColumn('x_error_message', 'text')
    .addColumn('x_error_at', 'text')
    .addColumn('rate_limited_until', 'text')
    // Reconciliation (omni reconcile, the listener's reconcile): when, how many DMs it found missing.
    .addColumn('last_reconcile_at', 'text')
    .addColumn('last_reconcile_found', 'integer')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('health_transitions')
    .addColumn('id', 'integer', id(db))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    .addColumn('state', 'text', (c) => c.notNull())
    // The n-th time this state was entered; its leaving carries the same number.
    .addColumn('episode', 'integer', (c) => c.notNull())
    .addColumn('edge', 'text', (c) => c.notNull()) // 'enter' | 'leave'
    // When the state began (enter) or ended (leave), as far as the evidence says.
    .addColumn('since', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'text', (c) => c.notNull())
    // Notification: delivered when sent_at is set; a sender holds the row until claimed_until.
    .addColumn('sent_at', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('claimed_until', 'text')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('health_transitions_once').on('health_transitions').columns(['interaction_id', 'state', 'episode', 'edge']).unique().execute();
  await db.schema.createIndex('health_transitions_unsent').on('health_transitions').columns(['next_attempt_at']).where(sql.ref('sent_at'), 'is', null).execute();

  await db.schema.alterTable('interactions').addColumn('silence_alert_seconds', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('interactions').dropColumn('silence_alert_seconds').execute();
  await db.schema.dropTable('health_transitions').execute();
  await db.schema.dropTable('interaction_health').execute();
}
