// What the webhook services (v1.1 in service.ts, X API 2026 in x-service.ts) need, and how they
// remember on the interaction what X said (on failure too), so `interaction show/list` and
// `omni doctor` can tell the story without calling X.
import type { Db } from '../db/connection.js';
import type { InteractionView } from '../db/interactions.js';
import { updateInteraction } from '../db/interactions.js';
import { recordAudit } from '../db/audit.js';
import type { InteractionUpdate } from '../db/schema.js';
import type { SecretBox } from '../secrets.js';
import type { GatewayOptions, TwitterCredentials, TwitterGateway } from '../twitter/gateway.js';
import type { XGateway } from '../twitter/gateway-v2.js';

/** What these functions need; the command Context satisfies it, so does the listener's. */
export interface WebhookDeps {
  db: () => Promise<Db>;
  secrets: () => Promise<SecretBox>;
  twitter: (credentials: TwitterCredentials, options?: Pick<GatewayOptions, 'editCommand'>) => Promise<TwitterGateway>;
  now: () => Date;
  actor: string;
  /** OMNI_TWITTER_API_URL and OMNI_TWITTER_TIMEOUT_MS for X's API of 2026 (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** The X API 2026 gateway of an interaction; default `openXGateway` (the watchdog caches them). */
  openX?: (row: InteractionView) => Promise<XGateway>;
}

export type Progress = (step: string) => void;

/** Writes what we learned; with `audit`, also an audit record in the same transaction. */
export async function remember(deps: WebhookDeps, row: InteractionView, patch: InteractionUpdate, audit?: { action: string; changes: Record<string, unknown> }): Promise<void> {
  const db = (await deps.db()).kysely;
  await db.transaction().execute(async (trx) => {
    await updateInteraction(trx, row.id, patch);
    if (audit) {
      await recordAudit(trx, { at: String(patch.webhook_checked_at ?? deps.now().toISOString()), actor: deps.actor, entity: 'interaction', entityId: row.id, ...audit });
    }
  });
}

/** Records a failure on the interaction, then lets it propagate. Never hides the original error. */
export async function rememberFailure(deps: WebhookDeps, row: InteractionView, err: unknown, patch: InteractionUpdate = {}): Promise<never> {
  const message = err instanceof Error ? err.message : String(err);
  try {
    await remember(deps, row, { ...patch, webhook_last_error: message, webhook_checked_at: deps.now().toISOString() });
  } catch {
    // The database problem would mask what X said; X's error is the one to show.
  }
  throw err;
}
