// `omni requester export`: an access or portability request answered: everything omni holds about
// one requester (src/privacy/export.ts), as one JSON document or NDJSON, to a file or stdout.
import fs from 'node:fs';
import type { Context } from '../../cli/context.js';
import { NotFoundError, OmniError } from '../../errors.js';
import { findRequester } from '../../db/requesters.js';
import { exportCounts, exportRequester, writeJsonExport, writeNdjsonExport } from '../../privacy/export.js';
import { printJson, success } from '../../cli/output.js';
import { startSpinner } from '../../cli/spinner.js';

interface ExportOptions {
  out?: string;
  format: 'json' | 'ndjson';
  json?: boolean;
}

export async function exportRequesterAction(ctx: Context, [ref]: [string], opts: ExportOptions): Promise<number> {
  const db = (await ctx.db()).kysely;
  const r = await findRequester(db, ref);
  if (!r) throw new NotFoundError(`no requester '${ref}'`, 'list them with: omni requester list (refer to one by id, @screen_name or tw:<twitter id>)');
  const toStdout = opts.out === undefined || opts.out === '-';
  const counts = await exportCounts(db, r.id, r.twitter_user_id);
  const total = counts.messages + counts.helperMessages;

  let fd: number | undefined;
  if (!toStdout) {
    try {
      // 'wx': an export is personal data; never overwrite a file, never make it world-readable.
      fd = fs.openSync(opts.out!, 'wx', 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new OmniError(`cannot write ${opts.out}: ${code === 'EEXIST' ? 'the file exists' : (err as Error).message}`, {
        hint: code === 'EEXIST' ? 'choose another file or remove it first' : 'check that its directory exists and is writable',
      });
    }
  }
  const spinner = startSpinner(ctx.io.stderr, `exporting requester ${r.id}: 0 of ${total} messages`);
  let done = 0;
  const records = exportRequester(db, r.id, ctx.clock().toISOString(), (n) => {
    done += n;
    spinner.update(`exporting requester ${r.id}: ${done} of ${total} messages`);
  });
  const write = fd !== undefined ? writeFile(fd) : writeStream(ctx.io.stdout);
  try {
    await (opts.format === 'ndjson' ? writeNdjsonExport : writeJsonExport)(records, write);
    if (fd !== undefined) fs.fsyncSync(fd);
  } finally {
    spinner.stop();
    if (fd !== undefined) fs.closeSync(fd);
  }
  if (!toStdout) {
    success(ctx, `exported requester ${r.id}: ${counts.tickets} tickets, ${counts.messages} messages, ${counts.helperConversations} Helper conversations, ${counts.outbox} outbox rows, ${counts.audit} audit entries → ${opts.out}`);
    if (opts.json) printJson(ctx, { requester: r.id, out: opts.out, format: opts.format, ...counts });
  }
  return 0;
}

function writeFile(fd: number) {
  return (chunk: string) => {
    fs.writeSync(fd, chunk);
  };
}

/** Writes to stdout, waiting when the pipe is full (a large export into `| less`). */
function writeStream(stream: NodeJS.WritableStream) {
  return (chunk: string) =>
    new Promise<void>((resolve, reject) => {
      const ok = stream.write(chunk, (err) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else stream.once('drain', resolve);
    });
}
