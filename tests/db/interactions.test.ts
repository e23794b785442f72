import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { insertInteraction, nextInteractionId } from '../../src/db/interactions.js';
import { tempDir } from '../support/tmp.js';

describe('nextInteractionId', () => {
  it('predicts the id the next insert gets, never reusing one (AUTOINCREMENT)', async () => {
    const db = await openDatabase(path.join(tempDir(), 'omni.db'));
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
      // A rolled-back insert gives its id back.
      await k.transaction().execute(async (trx) => {
        await insertInteraction(trx, row('d'));
        throw new Error('rollback');
      }).catch(() => undefined);
      expect(await nextInteractionId(k)).toBe(4);
    } finally {
      await db.close();
    }
  });
});
