// The X gateway each interaction's X Chat session calls X through (the participants' public keys, a
// conversation's key changes): the app's keys and the account's OAuth 2.0 user token (refreshed
// through oauth_tokens like every other user-context call). One per interaction, built on first use.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { OmniError } from '../errors.js';
import { oauthClientIdOf, openInteractionXGateway } from '../interactions/x-gateway.js';
import type { SecretBox } from '../secrets.js';
import type { XGateway } from '../twitter/gateway-v2.js';

export interface XChatGatewayOptions {
  db: Kysely<Database>;
  box: SecretBox;
  /** OMNI_TWITTER_API_URL. */
  baseUrl: string;
  timeoutMs: number;
  /** OMNI_TWITTER_CLIENT_ID, for interactions authorized without storing their client id. */
  clientIdFallback?: string;
}

export interface XChatGateways {
  of(interactionId: number): Promise<XGateway>;
  /** Cuts calls in flight; the gateways are unusable afterwards. */
  close(): void;
}

export function createXChatGateways(o: XChatGatewayOptions): XChatGateways {
  const cache = new Map<number, Promise<XGateway>>();
  const build = async (id: number): Promise<XGateway> => {
    const r = await o.db.selectFrom('interactions').select(['api_key_enc', 'api_secret_key_enc', 'client_id_enc', 'client_secret_enc']).where('id', '=', id).executeTakeFirst();
    if (!r) throw new OmniError(`interaction ${id} does not exist`, { hint: 'omni interaction list' });
    const setup = { db: o.db, box: o.box, baseUrl: o.baseUrl, timeoutMs: o.timeoutMs, ...(o.clientIdFallback !== undefined ? { clientIdFallback: o.clientIdFallback } : {}) };
    if (oauthClientIdOf(setup, { id, ...r }) === undefined) throw new OmniError(`interaction ${id} has no OAuth 2.0 client id to call X Chat with`, { hint: `set OMNI_TWITTER_CLIENT_ID, or run omni interaction authorize ${id}` });
    return openInteractionXGateway(setup, { id, ...r });
  };
  return {
    of(id) {
      let g = cache.get(id);
      if (!g) {
        g = build(id);
        cache.set(id, g);
        g.catch(() => cache.delete(id));
      }
      return g;
    },
    close() {
      for (const g of cache.values()) g.then((x) => x.close(), () => undefined);
      cache.clear();
    },
  };
}
