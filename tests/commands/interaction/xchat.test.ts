// `omni interaction xchat setup|status`, the built CLI spawned with no TTY against the fake X: refusals
// with their fix before anything is set up, registration once (and never again without --rotate),
// import of a key blob X knows, and no private key byte in any output, the database file or its WAL.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/connection.js';
import { loadSecretBox } from '../../../src/secrets.js';
import { XChatIdentity } from '../../../src/xchat/sdk.js';
import { blobField, loadActiveXChatIdentity } from '../../../src/xchat/store.js';
import { readKeyBlob } from '../../../src/commands/interaction/xchat/setup.js';
import { cliWithDb, runCli } from '../../support/cli.js';
import { TEST_ENGINE } from '../../support/engine.js';
import { startFakeTwitter, type FakeTwitter } from '../../support/fake-twitter.js';
import { newFlags, secretEnv, seedCatalogs } from '../../support/interactions.js';
import { tempDir } from '../../support/tmp.js';
import { ACCOUNT_ID, testApp, testUser } from '../../support/twitter-fixtures.js';

const CLIENT_ID = 'b2F1dGgyLWNsaWVudC1pZC1mb3Itb21uaQ';
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup() {
  const tw: FakeTwitter = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { clients: [{ clientId: CLIENT_ID, redirectUris: [] }] } });
  closers.push(() => tw.close());
  const cli = cliWithDb({ ...secretEnv(), OMNI_TWITTER_API_URL: tw.url, OMNI_TWITTER_CLIENT_ID: CLIENT_ID });
  await seedCatalogs(cli.db);
  expect((await cli.run([...newFlags('Support DMs', { '--api': 'activity' })])).code).toBe(0);
  const outputs: string[] = [];
  const run = async (args: string[], opts: { input?: string } = {}) => {
    const r = await cli.run(['--no-input', ...args], opts);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const authorize = async () => {
    const earlier = tw.x.issueTokens(ACCOUNT_ID, { clientId: CLIENT_ID });
    expect((await run(['interaction', 'authorize', '1', '--secrets-file', '-'], { input: JSON.stringify({ refreshToken: earlier.refresh_token }) })).code).toBe(0);
  };
  return { ...cli, tw, run, authorize, outputs };
}

describe('omni interaction xchat', () => {
  it('refuses before authorization with the fix, and status says it is not set up', async () => {
    const { run } = await setup();
    const r = await run(['interaction', 'xchat', 'setup', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not authorized with OAuth 2.0, which X Chat needs');
    expect(r.stderr).toContain('omni interaction authorize 1');
    const doc = JSON.parse((await run(['doctor', '1', '--offline', '--json'])).stdout) as { checks: Array<{ id: string; status: string; detail: string }> };
    expect(doc.checks.find((c) => c.id === 'xchat')).toMatchObject({ status: 'pass', detail: expect.stringContaining('not set up: conversations customers start in X Chat (encrypted) are not read; to read them: omni interaction xchat setup 1') });
    const s = await run(['interaction', 'xchat', 'status', 'Support DMs', '--json']);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toEqual({ interactionId: 1, status: 'not-set-up', identity: null, pending: null, retiredKeys: 0, conversations: 0, conversationKeys: 0, fix: 'omni interaction xchat setup 1' });
  });

  it('registers once with the rate-limit warning, refuses a second registration, imports with --rotate, and never prints or stores key bytes', async () => {
    const { run, authorize, tw, db, dir, outputs } = await setup();
    await authorize();
    const first = await run(['interaction', 'xchat', 'setup', '1', '--json']);
    expect(first.stderr).toContain('X allows only a few key registrations per account per 24 h');
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out).toMatchObject({ interactionId: 1, action: 'registered', identity: { keyVersion: 1, status: 'active', origin: 'generated', accountUserId: ACCOUNT_ID }, replaced: null });
    expect(tw.x.chatPublicKeys(ACCOUNT_ID).map((k) => k.public_key_version)).toEqual([out.identity.publicKeyVersion]);
    expect(first.stderr).toContain(`✓ X Chat registered for interaction 1 'Support DMs': key version 1, X public key version ${out.identity.publicKeyVersion}, fingerprint ${out.identity.fingerprint}`);

    const again = await run(['interaction', 'xchat', 'setup', '1']);
    expect(again.code).toBe(2);
    expect(again.stderr.split('\n')[0]).toContain('already has an X Chat identity');
    expect(again.stderr).toContain('omni interaction xchat setup 1 --rotate');
    expect(tw.x.chatPublicKeys(ACCOUNT_ID)).toHaveLength(1);

    const status = await run(['interaction', 'xchat', 'status', '1']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Fingerprint    ${out.identity.fingerprint}`);
    expect(status.stdout).toContain(`1 (X public key version ${out.identity.publicKeyVersion})`);

    // An identity made elsewhere whose public keys X holds: imported with --rotate, no registration spent.
    const { identity: other, registration } = await XChatIdentity.generate(ACCOUNT_ID);
    closers.push(() => other.dispose());
    tw.x.addChatPublicKey(ACCOUNT_ID, { public_key_version: '4242', public_key: registration.public_key.public_key, signing_public_key: registration.public_key.signing_public_key, identity_public_key_signature: registration.public_key.identity_public_key_signature });
    const keyFile = path.join(dir, 'support-xchat.key');
    const otherBlob = Buffer.from(other.exportKeyBlob());
    fs.writeFileSync(keyFile, otherBlob.toString('base64') + '\n', { mode: 0o644 });
    const imported = await run(['interaction', 'xchat', 'setup', '1', '--import-key-file', keyFile, '--rotate', '--json']);
    expect(imported.code).toBe(0);
    expect(imported.stderr).toContain('can be read by other users');
    expect(JSON.parse(imported.stdout)).toMatchObject({ action: 'imported', identity: { keyVersion: 2, publicKeyVersion: '4242', fingerprint: other.fingerprint(), origin: 'imported' }, replaced: { keyVersion: 1 } });
    expect(tw.x.chatPublicKeys(ACCOUNT_ID)).toHaveLength(2);

    const bad = path.join(dir, 'short.key');
    fs.writeFileSync(bad, 'c2hvcnQ=\n');
    const refused = await run(['interaction', 'xchat', 'setup', '1', '--import-key-file', bad, '--rotate']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('does not hold a 64-byte X Chat key blob');

    const audit = JSON.parse((await run(['audit', '--json'])).stdout) as Array<{ action: string; changes: unknown }>;
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['xchat-keys-created', 'xchat-register', 'xchat-import']));

    // No private key byte anywhere: the outputs, the audit, and (SQLite) the file and its WAL.
    const h = await openDatabase(db);
    closers.push(() => h.close());
    const active = await loadActiveXChatIdentity(h.kysely, TEST_ENGINE === 'sqlite' ? loadSecretBox(db, {}) : loadSecretBox(db, { XDG_CONFIG_HOME: path.join(dir, 'config'), HOME: dir }), 1);
    closers.push(() => active?.dispose());
    const blob = Buffer.from(active!.exportKeyBlob());
    expect(blob.equals(otherBlob)).toBe(true);
    const text = outputs.join('\n') + JSON.stringify(audit);
    for (const enc of ['base64', 'hex', 'base64url'] as const) expect(text).not.toContain(blob.toString(enc));
    // doctor reads the stored keys back and compares the fingerprint X registered.
    const xchatCheck = async () => (JSON.parse((await run(['doctor', '1', '--offline', '--json'])).stdout) as { checks: Array<{ id: string; status: string; detail: string; fix: string | null }> }).checks.find((c) => c.id === 'xchat');
    expect(await xchatCheck()).toMatchObject({ status: 'pass', detail: `key version 2, X public key version 4242, fingerprint ${other.fingerprint()}` });
    const { identity: swapped } = await XChatIdentity.generate(ACCOUNT_ID);
    closers.push(() => swapped.dispose());
    const box = TEST_ENGINE === 'sqlite' ? loadSecretBox(db, {}) : loadSecretBox(db, { XDG_CONFIG_HOME: path.join(dir, 'config'), HOME: dir });
    const original = await h.kysely.selectFrom('xchat_identities').select('key_blob_enc').where('key_version', '=', 2).executeTakeFirstOrThrow();
    await h.kysely.updateTable('xchat_identities').set({ key_blob_enc: box.encrypt(Buffer.from(swapped.exportKeyBlob()).toString('base64'), blobField(1, 2)) }).where('key_version', '=', 2).execute();
    expect(await xchatCheck()).toMatchObject({ status: 'fail', detail: expect.stringContaining(`but ${other.fingerprint()} was registered`), fix: 'import the registered key blob: omni interaction xchat setup 1 --import-key-file <path> --rotate' });
    await h.kysely.updateTable('xchat_identities').set({ key_blob_enc: original.key_blob_enc }).where('key_version', '=', 2).execute();

    if (TEST_ENGINE === 'sqlite') {
      for (const f of [db, `${db}-wal`].filter((x) => fs.existsSync(x))) {
        const bytes = fs.readFileSync(f);
        for (const needle of [blob, Buffer.from(blob.toString('base64')), Buffer.from(blob.toString('hex'))]) expect(bytes.includes(needle)).toBe(false);
      }
    }
  });

  it('omni export --include-secrets carries the identity and omni apply restores it elsewhere without calling X', async () => {
    const { run, authorize, tw, dir } = await setup();
    await authorize();
    const first = JSON.parse((await run(['interaction', 'xchat', 'setup', '1', '--json'])).stdout);
    const plain = await run(['export', '--format', 'json']);
    expect(JSON.parse(plain.stdout).interactions[0].xchat).toBeUndefined();
    const full = await run(['export', '--format', 'json', '--include-secrets']);
    const doc = JSON.parse(full.stdout);
    expect(doc.interactions[0].xchat).toEqual({ keyBlob: expect.stringMatching(/^[A-Za-z0-9+/]{86}==$/), publicKeyVersion: first.identity.publicKeyVersion, accountUserId: ACCOUNT_ID, fingerprint: first.identity.fingerprint, identityPublicKeySignature: expect.any(String) });
    const file = path.join(dir, 'helpdesk.json');
    fs.writeFileSync(file, full.stdout, { mode: 0o600 });
    const same = await run(['apply', '-f', file, '--dry-run']);
    expect(same.stdout.trim()).toBe('No changes.');

    // Another installation: a fresh SQLite database and key (whatever the engine of the first, which
    // on PostgreSQL is one database per test); apply restores the identity, X sees no call.
    const otherDir = tempDir();
    const otherDb = path.join(otherDir, 'other.db');
    const other = { run: (args: string[]) => runCli(['--db', otherDb, ...args], { env: { HOME: otherDir, OMNI_TWITTER_API_URL: tw.url } }) };
    const requests = tw.state.requests.length;
    const planned = await other.run(['--no-input', 'apply', '-f', file, '--dry-run']);
    expect(planned.stdout).toContain('    xchat keys: set');
    expect(planned.stdout).not.toContain(doc.interactions[0].xchat.keyBlob);
    const applied = await other.run(['--no-input', 'apply', '-f', file]);
    expect(applied.code).toBe(0);
    const status = JSON.parse((await other.run(['interaction', 'xchat', 'status', '1', '--json'])).stdout);
    expect(status).toMatchObject({ status: 'active', identity: { fingerprint: first.identity.fingerprint, publicKeyVersion: first.identity.publicKeyVersion, origin: 'imported' } });
    expect((await other.run(['apply', '-f', file, '--dry-run'])).stdout.trim()).toBe('No changes.');
    expect(tw.state.requests.length).toBe(requests);

    // A blob that is not the identity the file names is refused, and nothing changes.
    const { identity: stranger } = await XChatIdentity.generate(ACCOUNT_ID);
    closers.push(() => stranger.dispose());
    doc.interactions[0].xchat.keyBlob = Buffer.from(stranger.exportKeyBlob()).toString('base64');
    doc.interactions[0].xchat.fingerprint = 'not-the-one';
    fs.writeFileSync(file, JSON.stringify(doc), { mode: 0o600 });
    const refused = await other.run(['--no-input', 'apply', '-f', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('interactions[0].xchat.keyBlob: the key blob has fingerprint');
    expect(JSON.parse((await other.run(['interaction', 'xchat', 'status', '1', '--json'])).stdout).identity.fingerprint).toBe(first.identity.fingerprint);
  });

  it('reads a key file as raw bytes, base64 or hex, and says when others can read it', async () => {
    const dir = tempDir();
    const blob = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256));
    const write = (name: string, data: string | Buffer, mode: number) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, data, { mode });
      fs.chmodSync(f, mode);
      return f;
    };
    for (const [name, data] of [['raw.key', blob], ['b64.key', blob.toString('base64') + '\n'], ['hex.key', blob.toString('hex')], ['url.key', blob.toString('base64url')]] as const) {
      const r = await readKeyBlob(write(name, data, 0o600));
      expect(Buffer.from(r.blob).equals(blob)).toBe(true);
      expect(r.looseMode).toBe(false);
    }
    expect((await readKeyBlob(write('open.key', blob, 0o644))).looseMode).toBe(true);
    await expect(readKeyBlob(path.join(dir, 'missing.key'))).rejects.toThrow('cannot read --import-key-file');
    await expect(readKeyBlob(write('long.key', Buffer.concat([blob, blob]), 0o600))).rejects.toThrow('does not hold a 64-byte X Chat key blob');
  });

  it('documents itself with examples', async () => {
    const { run } = await setup();
    const help = await run(['interaction', 'xchat', 'setup', '--help']);
    expect(help.stdout).toContain('omni interaction xchat setup 3 --import-key-file ./support-xchat.key');
    expect(help.stdout).toContain('X allows only a few key registrations per account per 24 h');
  });
});
