// The adapter loads a file the package does not export (pkg/chat_xdk_wasm.js). These tests fail loudly,
// naming the fix, when the installed package's version, layout or Chat methods are not what omni was
// built against, and prove the adapter works from a rolldown bundle in a fresh process.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'rolldown';
import { afterAll, describe, expect, it } from 'vitest';
import { OmniError } from '../../src/errors.js';
import {
  CHAT_XDK_PACKAGE,
  CHAT_XDK_VERSION,
  ConversationKeyRing,
  REQUIRED_CHAT_METHODS,
  XChatIdentity,
  chatXdkDir,
  loadChatXdk,
  loadChatXdkFrom,
} from '../../src/xchat/sdk.js';
import { tempDir } from '../support/tmp.js';
import { XChatCustomer, registeredKey } from '../support/xchat-customer.js';

const repo = path.resolve(import.meta.dirname, '../..');

/** A copy of the installed package, altered by `change`. */
function alteredCopy(change: (dir: string) => void): string {
  const dir = path.join(tempDir('omni-xchat-pkg-'), 'chat-xdk');
  fs.cpSync(chatXdkDir(), dir, { recursive: true });
  change(dir);
  return dir;
}

async function refusal(dir: string): Promise<OmniError> {
  const err = await loadChatXdkFrom(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OmniError);
  expect((err as OmniError).hint).toMatch(/npm ci/);
  return err as OmniError;
}

describe('the installed chat-xdk', () => {
  it(`is exactly ${CHAT_XDK_VERSION}, pinned so in package.json and the lock file`, async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies[CHAT_XDK_PACKAGE], 'package.json must pin the exact version the adapter was checked against').toBe(
      CHAT_XDK_VERSION,
    );
    const lock = JSON.parse(fs.readFileSync(path.join(repo, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>;
    };
    expect(lock.packages[`node_modules/${CHAT_XDK_PACKAGE}`]?.version).toBe(CHAT_XDK_VERSION);
    // Fails with the adapter's own message (what changed, and the fix) when the package differs.
    const sdk = await loadChatXdk();
    expect(sdk.version).toBe(CHAT_XDK_VERSION);
    expect(sdk.dir).toBe(chatXdkDir());
    const chat = sdk.newChat();
    for (const m of REQUIRED_CHAT_METHODS) expect(typeof (chat as unknown as Record<string, unknown>)[m], m).toBe('function');
    chat.free();
    expect(await loadChatXdk()).toBe(sdk);
  });

  it('refuses another version, naming both and the fix', async () => {
    const dir = alteredCopy((d) => {
      const file = path.join(d, 'package.json');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(`"version": "${CHAT_XDK_VERSION}"`, '"version": "0.9.9"'));
    });
    expect((await refusal(dir)).message).toBe(
      `X Chat SDK: ${CHAT_XDK_PACKAGE} 0.9.9 is installed in ${dir}, omni is built for exactly ${CHAT_XDK_VERSION}`,
    );
  });

  it('refuses a package whose WASM file moved', async () => {
    const dir = alteredCopy((d) => fs.rmSync(path.join(d, 'pkg', 'chat_xdk_wasm_bg.wasm')));
    expect((await refusal(dir)).message).toMatch(/chat_xdk_wasm_bg\.wasm is missing: the package layout changed$/);
  });

  it('refuses a Chat class without a method omni calls', async () => {
    const dir = alteredCopy((d) => {
      const file = path.join(d, 'pkg', 'chat_xdk_wasm.js');
      const js = fs.readFileSync(file, 'utf8');
      expect(js).toContain('    decryptEvent(event_b64');
      fs.writeFileSync(file, js.replace('    decryptEvent(event_b64', '    decryptEventRenamed(event_b64'));
    });
    expect((await refusal(dir)).message).toMatch(/the Chat class in .*chat_xdk_wasm\.js lacks decryptEvent$/);
  });

  it('refuses a directory without the package', async () => {
    expect((await refusal(tempDir('omni-xchat-empty-'))).message).toMatch(/^X Chat SDK: cannot read .*package\.json$/);
  });
});

describe('from a bundle, in a fresh process', () => {
  // Inside the repository so that the bundle resolves node_modules as dist/ does (.omni-test-* is ignored).
  const out = fs.mkdtempSync(path.join(repo, '.omni-test-xchat-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('restores an exported identity that decrypts what the customer sent', async () => {
    await build({
      input: path.join(repo, 'src/xchat/sdk.ts'),
      platform: 'node',
      external: [/^node:/],
      logLevel: 'silent',
      output: { dir: out, format: 'esm', entryFileNames: 'xchat.js' },
    });
    fs.writeFileSync(
      path.join(out, 'child.mjs'),
      `import { XChatIdentity, ConversationKeyRing } from './xchat.js';
const input = JSON.parse(await new Promise((resolve) => {
  let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => resolve(s));
}));
const id = await XChatIdentity.fromKeyBlob(input.userId, Buffer.from(input.blob, 'base64'), input.version);
const ring = new ConversationKeyRing(input.payload.conversation_id);
const r = id.decryptPayload(ring, input.payload, input.signingKeys);
const reply = id.encryptMessage(ring, 'from the restored identity');
process.stdout.write(JSON.stringify({ summary: id.describe(), outcome: r.outcome, reply: reply.body }));
`,
    );

    const { identity: support, registration } = await XChatIdentity.generate('1500');
    const customer = await XChatCustomer.create({ userId: '42', supportUserId: '1500', support: registeredKey(registration) });
    try {
      const payload = customer.encryptedDm('decrypted elsewhere').data.payload;
      const blob = Buffer.from(support.exportKeyBlob()).toString('base64');
      const child = spawnSync(process.execPath, [path.join(out, 'child.mjs')], {
        input: JSON.stringify({ userId: '1500', blob, version: registration.version, payload, signingKeys: customer.signingKeys }),
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const result = JSON.parse(child.stdout) as {
        summary: unknown;
        outcome: { status: string; message?: { text: string } };
        reply: { message_id: string; encoded_message_create_event: string; encoded_message_event_signature: string };
      };
      expect(result.summary).toEqual(support.describe());
      expect(result.outcome).toMatchObject({ status: 'message', message: { text: 'decrypted elsewhere', senderId: '42' } });
      expect(child.stdout).not.toContain(blob);
      // What the restored identity signed verifies against the registered keys on the customer's side.
      const sent = customer.eventFromSupport(result.reply, registration.public_key.signing_public_key).encodedEvent;
      expect(customer.decrypt(sent)).toMatchObject({ status: 'message', message: { text: 'from the restored identity' } });
      // And in this process, the key ring it learned is the one the original identity learns.
      const ring = new ConversationKeyRing(payload.conversation_id);
      expect(support.decryptPayload(ring, payload, customer.signingKeys).outcome).toMatchObject({ status: 'message' });
    } finally {
      support.dispose();
      customer.dispose();
    }
  });
});
