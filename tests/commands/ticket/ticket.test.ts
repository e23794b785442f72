// `omni ticket` and `omni requester` against a database filled through the real intake pipeline.
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { engineIntakeHarness, type EngineIntakeHarness } from '../../support/intake.js';
import { TEST_ENGINE, testSecretEnv } from '../../support/engine.js';
import { queryRows } from '../../support/rows.js';
import { tempDir } from '../../support/tmp.js';
import { dmDeliveryBody, inboundDm, newEventId } from '../../support/deliveries.js';

let h: EngineIntakeHarness | undefined;
let home: string | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  home = undefined;
});

const omni = (args: string[]) => runCli(['--db', h!.dbPath, ...args], { env: { HOME: (home ??= tempDir()), ...testSecretEnv(h!.dbPath) } });
const json = async (args: string[]) => {
  const r = await omni([...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe(`omni ticket and requester on ${TEST_ENGINE}`, () => {
  it('lists open tickets newest first with the issue JSON shape, filters, pages and closes', async () => {
    h = await engineIntakeHarness();
    await h.intake(inboundDm({ senderId: '11', text: 'first customer', screenName: 'ann' }));
    await h.intake(inboundDm({ senderId: '22', text: 'second customer', screenName: 'ben' }));
    await h.intake(inboundDm({ senderId: '11', text: 'ann again', screenName: 'ann' }));
    await h.intake(
      dmDeliveryBody({
        forUserId: '123',
        events: [{ senderId: '33', recipientId: '123', text: 'a photo', eventId: newEventId(), attachment: { type: 'photo', idStr: '77', mediaUrlHttps: 'https://ton.twimg.com/p.jpg' } }],
      }),
    );

    const list = await json(['ticket', 'list']);
    expect(list.map((t: { id: number }) => t.id)).toEqual([3, 2, 1]);
    expect(Object.keys(list[2])).toEqual([
      'id', 'interactionId', 'status', 'subject', 'requester', 'unit', 'group', 'activity', 'contactOrigin', 'contract', 'createdAt', 'updatedAt', 'messageCount',
    ]);
    expect(list[2]).toMatchObject({
      id: 1,
      status: 'open',
      subject: 'first customer',
      requester: { id: 1, twitterUserId: '11', screenName: 'ann', name: 'ANN' },
      unit: { name: 'HQ' },
      group: { name: 'Social' },
      activity: { name: 'DM' },
      contactOrigin: { name: 'Twitter' },
      contract: null,
      messageCount: 2,
    });
    expect((await json(['ticket', 'list', '--requester', '@ann'])).map((t: { id: number }) => t.id)).toEqual([1]);
    expect((await json(['ticket', 'list', '--requester', 'tw:22'])).map((t: { id: number }) => t.id)).toEqual([2]);
    expect((await json(['ticket', 'list', '--interaction', 'Support', '--limit', '2'])).map((t: { id: number }) => t.id)).toEqual([3, 2]);
    expect((await json(['ticket', 'list', '--limit', '2', '--before', '2'])).map((t: { id: number }) => t.id)).toEqual([1]);

    const shown = await json(['ticket', 'show', '3']);
    expect(shown.messages).toEqual([
      { id: 4, direction: 'inbound', text: 'a photo', twitterEventId: expect.stringMatching(/^\d{19}$/), sentAt: expect.any(String), attachments: [{ type: 'photo', mediaUrl: 'https://ton.twimg.com/p.jpg', idStr: '77' }] },
    ]);
    const text = await omni(['ticket', 'show', '1']);
    expect(text.stdout).toContain('Ticket #1');
    expect(text.stdout).toContain('ann again');

    const closed = await omni(['ticket', 'close', '2']);
    expect(closed.code).toBe(0);
    expect(closed.stderr).toContain('closed ticket 2');
    expect((await json(['ticket', 'list'])).map((t: { id: number }) => t.id)).toEqual([3, 1]);
    expect((await json(['ticket', 'list', '--status', 'closed'])).map((t: { id: number; status: string }) => [t.id, t.status])).toEqual([[2, 'closed']]);
    expect((await omni(['ticket', 'close', '2'])).stderr).toContain('already closed');
    const audit = await queryRows(h.db, "SELECT action FROM audit_log WHERE entity = 'ticket' AND entity_id = '2'");
    expect(audit).toEqual([{ action: 'close' }]);

    const requesters = await json(['requester', 'list']);
    expect(requesters.map((r: { twitterUserId: string }) => r.twitterUserId)).toEqual(['33', '22', '11']);
    const ann = await json(['requester', 'show', '@ANN']);
    expect(ann).toMatchObject({ twitterUserId: '11', ticketCount: 1, openTicketCount: 1, tickets: [expect.objectContaining({ id: 1 })] });
  });

  it('answers missing tickets and bad arguments with one line and the fix', async () => {
    h = await engineIntakeHarness();
    const missing = await omni(['ticket', 'show', '42']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("error: no ticket 42\n  list them with: omni ticket list --status all\n");
    const bad = await omni(['ticket', 'list', '--limit', 'lots']);
    expect(bad.code).toBe(2);
    expect((await omni(['ticket', 'list', '--status', 'pending'])).code).toBe(2);
    expect((await omni(['requester', 'show', '@nobody'])).code).toBe(1);
    const empty = await omni(['ticket', 'list']);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('omni simulate dm');
  });

  // --help reads no database: checked once, in the SQLite run.
  it.runIf(TEST_ENGINE === 'sqlite')('has --help with examples on every new command', async () => {
    h = await engineIntakeHarness();
    const cmds = [['listen'], ['simulate', 'dm'], ['ticket', 'list'], ['ticket', 'show'], ['ticket', 'close'], ['requester', 'list'], ['requester', 'show']];
    const helps = await Promise.all(cmds.map((cmd) => omni([...cmd, '--help'])));
    helps.forEach((r, i) => {
      expect(r.code).toBe(0);
      expect(r.stdout, cmds[i]!.join(' ')).toContain('Examples:');
    });
  });
});
