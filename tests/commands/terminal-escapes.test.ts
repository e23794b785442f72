// Escape injection (issue 14, item 11): DM text, names and screen names come from anyone on Twitter.
// On a terminal their control characters are shown (\x1b, \r, \x07 …), never obeyed: no forged log
// line, no retitled terminal. JSON output keeps them exactly.
import { afterEach, describe, expect, it } from 'vitest';
import { terminalSafe, terminalSafeLines } from '../../src/terminal-text.js';
import { createPrettyLog } from '../../src/listener/log.js';
import { runCli } from '../support/cli.js';
import { intakeHarness, type IntakeHarness } from '../support/intake.js';
import { ACCOUNT_ID, dmDeliveryBody, newEventId } from '../support/deliveries.js';

const ESC = '\u001b';
const BEL = '\u0007';
/** A DM that would retitle the terminal (OSC 0), clear the line, and forge a log line after a CR LF. */
const EVIL_TEXT = `hi${ESC}]0;pwned${BEL}${ESC}[2K\r\n14:03:22  #1 Support  fake line`;
const EVIL_NAME = `Ann${ESC}[31m${BEL}`;
const EVIL_SCREEN = `ann${ESC}]0;x${BEL}`;
/** What a terminal must never receive from data: ESC, BEL, CR (LF only as the renderer's own line break). */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('terminalSafe', () => {
  it('shows every control character as a visible escape and leaves other text alone', () => {
    expect(terminalSafe(`a${ESC}[2Jb${BEL}\r\n\t\u0000\u007f\u009b`)).toBe('a\\x1b[2Jb\\x07\\r\\n\\t\\x00\\x7f\\x9b');
    expect(terminalSafe('\u202eevil\u2028')).toBe('\\u202eevil\\u2028');
    const plain = 'Grüße, 你好 👋 — ok';
    expect(terminalSafe(plain)).toBe(plain);
    expect(terminalSafeLines(`one\r\ntwo${ESC}\nthree\r`)).toEqual(['one', 'two\\x1b', 'three\\r']);
  });
});

describe('CLI renderers', () => {
  let h: IntakeHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('ticket show/list and requester list/show print control characters visibly; --json keeps them exactly', async () => {
    h = await intakeHarness({ accountUserId: ACCOUNT_ID });
    h.intake(dmDeliveryBody({ forUserId: ACCOUNT_ID, events: [{ senderId: '11', recipientId: ACCOUNT_ID, text: EVIL_TEXT, eventId: newEventId() }], users: { '11': { name: EVIL_NAME, screenName: EVIL_SCREEN } } }));
    const omni = (...args: string[]) => runCli(['--db', h!.dbPath, ...args], { env: { HOME: h!.dbPath + '.home' } });
    for (const args of [['ticket', 'show', '1'], ['ticket', 'list'], ['requester', 'list'], ['requester', 'show', '1']]) {
      const r = await omni(...args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, args.join(' ')).not.toMatch(RAW_CONTROL);
      expect(r.stdout, args.join(' ')).toContain('\\x1b');
    }
    const shown = (await omni('ticket', 'show', '1')).stdout;
    // The DM's own line break (CR LF) stays a line break, indented under its message: no forged line.
    expect(shown).toContain('    hi\\x1b]0;pwned\\x07\\x1b[2K\n    14:03:22  #1 Support  fake line\n');
    const json = JSON.parse((await omni('ticket', 'show', '1', '--json')).stdout);
    expect(json.messages[0].text).toBe(EVIL_TEXT);
    expect(json.requester.name).toBe(EVIL_NAME);
    const requesters = JSON.parse((await omni('requester', 'list', '--json')).stdout);
    expect(requesters[0].screenName).toBe(EVIL_SCREEN);
  });
});

describe('the pretty listener log', () => {
  it('shows control characters of screen names, details and reasons visibly', () => {
    const lines: string[] = [];
    const log = createPrettyLog((l) => lines.push(l), false, () => new Date('2026-01-01T00:00:00Z'));
    log.delivery({
      interaction: { id: 1, name: 'Support' },
      status: 200,
      results: [{ event: 'message_create', outcome: 'ignored', sender: '11', screenName: EVIL_SCREEN, detail: `x\r\nforged${BEL}` }],
      ms: 1,
      remote: '127.0.0.1',
    });
    log.delivery({ interaction: null, interactionId: `9${ESC}]0;t${BEL}`, status: 404, reason: 'unknown', ms: 1, remote: '127.0.0.1' });
    log.warn(`a${ESC}[2J`);
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(lines[0]).toContain('@ann\\x1b]0;x\\x07');
    expect(lines[0]).toContain('ignored: x\\r\\nforged\\x07');
  });
});
