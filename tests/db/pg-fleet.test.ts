// Rules that must hold across processes on one PostgreSQL, checked with one pool per "listener":
// the X OAuth 2.0 refresh lease (src/db/oauth-tokens.ts: one conditional UPDATE, so exactly one of
// N processes refreshing at once spends the rotating refresh token).
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { claimRefreshLease, releaseRefreshLease, saveAuthorization } from '../../src/db/oauth-tokens.js';
import { TEST_ENGINE, TEST_SECRET_KEY, testDatabase } from '../support/engine.js';
import { seedInteraction } from '../support/seed.js';

const open: Db[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

describe.skipIf(TEST_ENGINE !== 'postgres')('the OAuth refresh lease across listeners on one PostgreSQL', () => {
  it('is held by exactly one of many processes claiming it at the same moment, and free again after release', async () => {
    const where = testDatabase();
    const { id } = await seedInteraction(where, { env: { OMNI_SECRET_KEY: TEST_SECRET_KEY } });
    const dbs: Db[] = [];
    for (let i = 0; i < 4; i++) {
      const db = await openDatabase(where);
      open.push(db);
      dbs.push(db);
    }
    const now = '2026-06-01T10:00:00.000Z';
    await saveAuthorization(dbs[0]!.kysely, { interactionId: id, accessTokenEnc: 'a', refreshTokenEnc: 'r', expiresAt: now, scopes: 'dm.write', accountUserId: '123', accountUsername: 'acme', now });
    for (let round = 0; round < 5; round++) {
      const claims = await Promise.all(dbs.flatMap((db, i) => [0, 1].map((k) => claimRefreshLease(db.kysely, id, `p${i}-${k}`, '2026-06-01T10:01:00.000Z', now))));
      const winners = claims.map((g, i) => (g === undefined ? undefined : i)).filter((i) => i !== undefined);
      expect(winners).toHaveLength(1);
      const owner = `p${Math.floor(winners[0]! / 2)}-${winners[0]! % 2}`;
      await releaseRefreshLease(dbs[1]!.kysely, id, owner);
    }
    // An expired lease is taken over (its holder died).
    expect(await claimRefreshLease(dbs[0]!.kysely, id, 'dead', '2026-06-01T10:01:00.000Z', now)).toBeTypeOf('number');
    expect(await claimRefreshLease(dbs[2]!.kysely, id, 'alive', '2026-06-01T10:02:00.000Z', '2026-06-01T10:00:30.000Z')).toBeUndefined();
    expect(await claimRefreshLease(dbs[2]!.kysely, id, 'alive', '2026-06-01T10:03:00.000Z', '2026-06-01T10:01:00.000Z')).toBeTypeOf('number');
  });
});
