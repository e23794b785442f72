// Puts catalogs and interactions straight into a test database through the real repositories,
// for tests whose subject is not the `interaction new` command itself.
import { openDatabase, type Db } from '../../src/db/connection.js';
import { addCatalogEntry, findCatalogEntry } from '../../src/db/catalogs.js';
import { insertInteraction } from '../../src/db/interactions.js';
import { loadSecretBox } from '../../src/secrets.js';
import { testSecretEnv } from './secret-env.js';
import { encryptSecrets, type Secrets } from '../../src/interactions/model.js';

export const TEST_SECRETS: Secrets = {
  apiKey: 'test-api-key-AAAA',
  apiSecretKey: 'DDD', // the consumer secret of the recorded fixtures in tests/fixtures/twitter
  accessToken: '123-test-access-token-BBBB',
  accessTokenSecret: 'test-access-token-secret-CCCC',
};

export interface SeedOptions {
  name?: string;
  secrets?: Partial<Secrets>;
  callbackUrl?: string;
  devEnvironment?: string;
  helper?: boolean;
  accountUserId?: string | null;
  /** Environment used to find the secret key (OMNI_SECRET_KEY); default: testSecretEnv(dbPath) (the key file beside a SQLite db). */
  env?: NodeJS.ProcessEnv;
}

/** Creates unit HQ, group Social, portfolio CS with activity DM, and an interaction using them. */
export async function seedInteraction(dbPath: string, opts: SeedOptions = {}): Promise<{ id: number; secrets: Secrets }> {
  const db: Db = await openDatabase(dbPath);
  try {
    const now = new Date().toISOString();
    const k = db.kysely;
    const ensure = async (kind: 'unit' | 'group' | 'portfolio', name: string) =>
      findCatalogEntry(k, kind, name).catch(() => addCatalogEntry(k, kind, name, now));
    const unit = await ensure('unit', 'HQ');
    const group = await ensure('group', 'Social');
    const portfolio = await ensure('portfolio', 'CS');
    const activity = await findCatalogEntry(k, 'activity', 'DM').catch(() => addCatalogEntry(k, 'activity', 'DM', now, portfolio.id));
    const origin = await findCatalogEntry(k, 'origin', 'Twitter');
    const secrets = { ...TEST_SECRETS, ...opts.secrets };
    const box = loadSecretBox(dbPath, opts.env ?? testSecretEnv(dbPath));
    const row = await insertInteraction(k, {
      name: opts.name ?? 'Support',
      channel: 'twitter-dm',
      unit_id: unit.id,
      group_id: group.id,
      activity_id: activity.id,
      contact_origin_id: origin.id,
      helper_interception: opts.helper ? 1 : 0,
      dev_environment: opts.devEnvironment ?? 'dev',
      ...(encryptSecrets(secrets, box) as Record<'api_key_enc' | 'api_secret_key_enc' | 'access_token_enc' | 'access_token_secret_enc', string>),
      callback_url: opts.callbackUrl ?? 'https://helpdesk.example.com',
      account_user_id: opts.accountUserId === undefined ? '123' : opts.accountUserId,
      created_at: now,
      updated_at: now,
    });
    return { id: row.id, secrets };
  } finally {
    await db.close();
  }
}
