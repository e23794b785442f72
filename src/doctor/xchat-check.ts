// doctor's X Chat check of an interaction (local, no call to X): whether the account's X Chat identity
// is set up, registered, readable with this installation's secret key, and still the one whose
// fingerprint was registered; an identity of another account (re-authorized as someone else) fails.
import { loadActiveXChatIdentity, xchatState } from '../xchat/store.js';
import { CheckSkipped, fail, pass, warn, type InteractionCheck } from './model.js';

export const xchatCheck: InteractionCheck = {
  id: 'xchat',
  title: 'the X Chat keys (encrypted DMs), when set up, are registered and readable',
  async run({ row, db, deps }) {
    const setup = `omni interaction xchat setup ${row.id}`;
    const state = await xchatState(db.kysely, row.id);
    if (!state.active) {
      if (state.pending) return fail(`X Chat keys were created (key version ${state.pending.keyVersion}) but X has not confirmed their registration: encrypted DMs are not read`, `${setup} (sends the same keys again)`);
      // Not an error: an account may not use X Chat. Said plainly, with the command, in the detail.
      if (row.api === 'v1.1') return pass('not used (X Chat needs X\'s current API: --api activity or v2)');
      return pass(`not set up: conversations customers start in X Chat (encrypted) are not read; to read them: ${setup}`);
    }
    const a = state.active;
    if (row.account_user_id && row.account_user_id !== a.accountUserId) {
      return fail(`the X Chat identity belongs to user ${a.accountUserId}, the interaction is authorized as ${row.account_user_id}`, `${setup} --rotate`);
    }
    const box = await deps.secretKey();
    if (!box) throw new CheckSkipped('no secret key: the secret-key check says why');
    let fingerprint: string;
    try {
      const identity = await loadActiveXChatIdentity(db.kysely, box, row.id);
      if (!identity) return fail('the active X Chat identity disappeared while checking', 'run omni doctor again');
      try {
        fingerprint = identity.fingerprint();
      } finally {
        identity.dispose();
      }
    } catch (err) {
      return fail(`the stored X Chat keys cannot be read: ${(err as Error).message}`, `restore the original secret key (${box.source}), or import the key blob again: ${setup} --import-key-file <path> --rotate`);
    }
    if (fingerprint !== a.fingerprint) {
      return fail(`the stored X Chat key blob has fingerprint ${fingerprint}, but ${a.fingerprint} was registered`, `import the registered key blob: ${setup} --import-key-file <path> --rotate`);
    }
    const summary = `key version ${a.keyVersion}, X public key version ${a.publicKeyVersion}, fingerprint ${a.fingerprint}`;
    // X Chat events the listener refused lately (bad signature, unknown key version…): never stored as words.
    const since = new Date(deps.now().getTime() - 24 * 3_600_000).toISOString();
    const refused = await db.kysely
      .selectFrom('webhook_events')
      .select(['result', (eb) => eb.fn.countAll<number>().as('n')])
      .where('interaction_id', '=', row.id)
      .where('kind', '=', 'chat_rejected')
      .where('at', '>=', since)
      .groupBy('result')
      .orderBy('result')
      .execute();
    const total = refused.reduce((sum, r) => sum + Number(r.n), 0);
    if (total > 0) {
      const by = refused.map((r) => `${r.result}: ${Number(r.n)}`).join(', ');
      return warn(`${summary}; ${total} X Chat event${total === 1 ? '' : 's'} refused in the last 24 h (${by}), not stored`, `the listener logs each one (outcome rejected, with its reason); what each reason means and what to do: docs/xchat.md#refusals`);
    }
    return pass(summary);
  },
};
