// The actions of `omni completion <shell>` and the hidden `omni __complete interactions`.
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Context } from '../../cli/context.js';
import { parseDbLocation } from '../../db/location.js';
import { liveInteractionNames } from '../../db/completion.js';
import { commandSpecs } from './spec.js';
import { completionScript, type Shell } from './scripts.js';

export function completionAction(program: CommandUnknownOpts) {
  return async (ctx: Context, [shell]: [Shell]): Promise<void> => {
    ctx.io.stdout.write(completionScript(shell, commandSpecs(program)));
  };
}

/**
 * Ids and names of live interactions, one a line: only from a SQLite file that already exists,
 * without migrating or decrypting; a PostgreSQL database or any failure lists nothing (exit 0).
 */
export async function candidatesAction(ctx: Context, [_what]: ['interactions']): Promise<void> {
  let where;
  try {
    where = parseDbLocation(ctx.dbPath);
  } catch {
    return;
  }
  if (where.engine !== 'sqlite') return;
  const rows = liveInteractionNames(where.path);
  const lines = [...rows.map((r) => String(r.id)), ...rows.map((r) => r.name)];
  if (lines.length > 0) ctx.io.stdout.write(lines.join('\n') + '\n');
}
