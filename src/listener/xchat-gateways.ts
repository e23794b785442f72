// The X gateway each interaction's X Chat session calls X through (the participants' public keys, a
// conversation's key changes): the app's keys and the account's OAuth 2.0 user token (refreshed
// through oauth_tokens like every other user-context call). One per interaction, built on first use.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { OmniError } from '../errors.js';
import { OAUTH_CLIENT_COLUMNS, SECRET_COLUMNS } from '../interactions/model.js';
import type { SecretBox } from '../secrets.js';
import { createXGateway, type XGateway } from '../twitter/gateway-v2.js';
import { createUserTokenSource } from '../twitter/user-token.js';

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
    const authorizeCommand = `omni interaction authorize ${id}`;
    if (!r) throw new OmniError(`interaction ${id} does not exist`, { hint: 'omni interaction list' });
    const clientId = r.client_id_enc !== null ? o.box.decrypt(r.client_id_enc, OAUTH_CLIENT_COLUMNS.clientId) : o.clientIdFallback;
    if (clientId === undefined) throw new OmniError(`interaction ${id} has no OAuth 2.0 client id to call X Chat with`, { hint: `set OMNI_TWITTER_CLIENT_ID, or run ${authorizeCommand}` });
    const clientSecret = r.client_secret_enc !== null ? o.box.decrypt(r.client_secret_enc, OAUTH_CLIENT_COLUMNS.clientSecret) : null;
    return createXGateway({
      baseUrl: o.baseUrl,
      timeoutMs: o.timeoutMs,
      app: { apiKey: o.box.decrypt(r.api_key_enc, SECRET_COLUMNS.apiKey), apiSecretKey: o.box.decrypt(r.api_secret_key_enc, SECRET_COLUMNS.apiSecretKey) },
      userToken: createUserTokenSource({ db: o.db, box: o.box, interactionId: id, client: { apiBaseUrl: o.baseUrl, clientId, clientSecret, timeoutMs: o.timeoutMs, authorizeCommand } }),
      authorizeCommand,
      editCommand: `omni interaction edit ${id}`,
    });
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
