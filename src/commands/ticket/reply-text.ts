// Where the text of a reply comes from: the argument, else stdin when it is not a terminal
// (`echo … | omni ticket reply 12`), else $VISUAL/$EDITOR on a terminal, like `git commit`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../../cli/context.js';
import { InputNeededError, OmniError, UsageError } from '../../errors.js';
import { DM_MAX_LENGTH } from '../../parameters.js';

const TEMPLATE_NOTE = '# Write the reply above. Lines starting with # are ignored; an empty reply cancels.';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function fromEditor(ctx: Context, heading: string): string {
  const editor = ctx.env.VISUAL?.trim() || ctx.env.EDITOR?.trim() || 'vi';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-reply-'));
  const file = path.join(dir, 'REPLY.txt');
  try {
    fs.writeFileSync(file, `\n${TEMPLATE_NOTE}\n# ${heading}\n`, { mode: 0o600 });
    // Through the shell, as git does: EDITOR may carry arguments ("code --wait").
    const r = spawnSync(`${editor} "$1"`, ['omni-editor', file], { shell: true, stdio: 'inherit' });
    if (r.error || r.status !== 0) {
      throw new OmniError(`the editor '${editor}' failed${r.status !== null ? ` (exit ${r.status})` : ''}`, {
        hint: 'set EDITOR to an editor that works here, or pass the text as an argument',
      });
    }
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The reply text, trimmed; refuses empty and over-long text with the fix. */
export async function replyText(ctx: Context, arg: string | undefined, heading: string): Promise<string> {
  let text: string;
  let source: string;
  if (arg !== undefined) {
    text = arg;
    source = 'the text argument';
  } else if (!ctx.io.stdin.isTTY) {
    text = await readAll(ctx.io.stdin);
    source = 'stdin';
  } else if (ctx.interactive) {
    text = fromEditor(ctx, heading);
    source = 'the editor';
  } else {
    throw new InputNeededError(['<text>'], "pass the reply as an argument or on stdin: omni ticket reply 12 'Your order ships today'");
  }
  const trimmed = text.trim();
  if (trimmed === '') {
    throw new UsageError(`the reply is empty (read from ${source})`, "give the text: omni ticket reply 12 'Your order ships today'");
  }
  const length = [...trimmed].length;
  if (length > DM_MAX_LENGTH) throw new UsageError(`the reply is ${length} characters long; a Direct Message holds at most ${DM_MAX_LENGTH}`, 'shorten it');
  return trimmed;
}
