// Fixtures for the interaction command tests: catalogs put straight into the database, and the
// four credentials as the environment a CI job would export.
import { openDatabase } from '../../src/db/connection.js';
import { addCatalogEntry } from '../../src/db/catalogs.js';
import { SECRET_ENV, type Secrets } from '../../src/interactions/model.js';

/** Long and distinctive, so a byte search for them cannot hit by accident. */
export const SECRETS: Secrets = {
  apiKey: 'ck-Qm4s7TzVb9Xw2LpA1111',
  apiSecretKey: 'cs-Hd8Jk3Nf6Rg0YtEu2222',
  accessToken: '9876543210-Zx5Cv7Bn1Ml3Kj4H3333',
  accessTokenSecret: 'ats-Pq2Wr9Ty6Ui8Oa5S4444',
};

export function secretEnv(s: Partial<Secrets> = SECRETS): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(s) as [keyof Secrets, string][]) env[SECRET_ENV[k]] = v;
  return env;
}

/** Unit HQ, group Social, portfolio CS with activity DM (ids 1), plus any extra units/groups. */
export async function seedCatalogs(dbPath: string, extra: { units?: string[]; groups?: string[] } = {}): Promise<void> {
  const db = await openDatabase(dbPath);
  try {
    const now = new Date().toISOString();
    const k = db.kysely;
    for (const u of ['HQ', ...(extra.units ?? [])]) await addCatalogEntry(k, 'unit', u, now);
    for (const g of ['Social', ...(extra.groups ?? [])]) await addCatalogEntry(k, 'group', g, now);
    const cs = await addCatalogEntry(k, 'portfolio', 'CS', now);
    await addCatalogEntry(k, 'activity', 'DM', now, cs.id);
  } finally {
    await db.close();
  }
}

/** The flags of a complete scripted `interaction new` (credentials not included). */
export function newFlags(name: string, over: Record<string, string> = {}): string[] {
  const flags: Record<string, string> = {
    '--name': name,
    '--unit': 'HQ',
    '--group': 'Social',
    '--activity': 'DM',
    '--env-label': 'prod',
    '--callback-url': 'https://helpdesk.example.com',
    ...over,
  };
  return ['interaction', 'new', ...Object.entries(flags).flatMap(([k, v]) => [k, v])];
}
