import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { insertInteraction, nextInteractionId } from '../../src/db/interactions.js';
import { TEST_ENGINE, testDatabase } from '../support/engine.js';

describe('nextInteractionId', () => {
  it('predicts the id the next insert gets, never reusing one (AUTOINCREMENT, identity)', async () => {
    const db = await openDatabase(testDatabase());
    try {
      const k = db.kysely;
      const row = (name: string) => ({
        name, channel: 'twitter-dm', dev_environment: 'dev', api_key_enc: 'x', api_secret_key_enc: 'x',
        access_token_enc: 'x', access_token_secret_enc: 'x', callback_url: 'https://h', created_at: 'now', updated_at: 'now',
      });
      expect(await nextInteractionId(k)).toBe(1);
      expect((await insertInteraction(k, row('a'))).id).toBe(1);
      expect((await insertInteraction(k, row('b'))).id).toBe(2);
      // Even a physically removed last row does not hand its id out again.
      await k.deleteFrom('interactions').where('id', '=', 2).execute();
      expect(await nextInteractionId(k)).toBe(3);
      expect((await insertInteraction(k, row('c'))).id).toBe(3);
      // A rolled-back insert gives its id back on SQLite (sqlite_sequence is rolled back with it);
      // a PostgreSQL sequence never goes back, and the prediction follows it.
      await k.transaction().execute(async (trx) => {
        await insertInteraction(trx, row('d'));
        throw new Error('rollback');
      }).catch(() => undefined);
      const next = TEST_ENGINE === 'postgres' ? 5 : 4;
      expect(await nextInteractionId(k)).toBe(next);
      expect((await insertInteraction(k, row('e'))).id).toBe(next);
    } finally {
      await db.close();
    }
  });
});
