// Twitter gateways for sending, one per interaction, rebuilt when its credentials change. The
// interaction is read again for every send: a revoked or deleted one stops sending at once.
import type { SendingInteraction } from '../db/outbox.js';
import type { SecretBox } from '../secrets.js';
import { decryptSecrets } from '../interactions/model.js';
import type { GatewayOptions, TwitterCredentials, TwitterGateway } from '../twitter/gateway.js';
import { UnsendableError } from './policy.js';
import type { DmSender, XSenderFactory } from './x-sender.js';

export type TwitterFactory = (credentials: TwitterCredentials, options?: Pick<GatewayOptions, 'editCommand'>) => Promise<TwitterGateway>;

/** Reads an interaction's sending credentials: the SQLite store at once, or a query on PostgreSQL. */
export interface SendingInteractions {
  interactionForSending(id: number): SendingInteraction | undefined | Promise<SendingInteraction | undefined>;
}

/** The gateway that sends for an interaction; throws UnsendableError when it may not send. */
export type GatewaySource = (interactionId: number) => Promise<DmSender>;

/**
 * `twitter` sends for v1.1 interactions (OAuth 1.0a); `x` for those on X's API of 2026 (v2,
 * activity: the OAuth 2.0 user token). Without `x`, a v2/activity row waits with the reason.
 */
export function createGatewaySource(outbox: SendingInteractions, box: () => Promise<SecretBox>, twitter: TwitterFactory, x?: XSenderFactory): GatewaySource {
  const cache = new Map<number, { key: string; gateway: Promise<DmSender> }>();
  return async (interactionId) => {
    const row = await outbox.interactionForSending(interactionId);
    if (!row || row.deleted_at !== null) {
      throw new UnsendableError('interaction-deleted', `interaction ${interactionId} was deleted, so it has no credentials to send with`);
    }
    if (row.revoked_at !== null) {
      throw new UnsendableError(
        'revoked',
        `the Twitter account of interaction ${interactionId} revoked omni's access on ${row.revoked_at}`,
        `authorise the app again, then: omni webhook register ${interactionId} and omni outbox retry <id>`,
      );
    }
    const key = credentialKey(row);
    const hit = cache.get(interactionId);
    if (hit && hit.key === key) return hit.gateway;
    const gateway = (async (): Promise<DmSender> => {
      if (row.api !== 'v1.1') {
        if (!x) throw new UnsendableError('configuration', `interaction ${interactionId} uses X's API of 2026 (${row.api}), which this process cannot send with`, 'send it with omni listen or omni outbox retry');
        return x(row, await box());
      }
      let credentials: TwitterCredentials;
      try {
        credentials = decryptSecrets(row, await box());
      } catch (err) {
        throw new UnsendableError('secrets', `cannot read the credentials of interaction ${interactionId}: ${(err as Error).message}`, (err as { hint?: string }).hint);
      }
      return twitter(credentials, { editCommand: `omni interaction edit ${interactionId}` });
    })();
    cache.set(interactionId, { key, gateway });
    gateway.catch(() => cache.delete(interactionId));
    return gateway;
  };
}

function credentialKey(row: SendingInteraction): string {
  return [row.api, row.api_key_enc, row.api_secret_key_enc, row.access_token_enc, row.access_token_secret_enc, row.client_id_enc, row.client_secret_enc].join('|');
}
