// `omni export`: catalogs, parameters and interactions in the apply file format.
import { stringify } from 'yaml';
import type { Context } from '../../cli/context.js';
import { UsageError } from '../../errors.js';
import { exportState } from '../../provision/export.js';

export async function exportAction(ctx: Context, _args: [], opts: { format: string; includeSecrets?: boolean }): Promise<void> {
  if (opts.format !== 'yaml' && opts.format !== 'json') throw new UsageError(`unknown --format '${opts.format}'`, 'use --format yaml or --format json');
  const db = (await ctx.db()).kysely;
  const box = opts.includeSecrets ? await ctx.secrets() : undefined;
  const doc = await exportState(db, { includeSecrets: Boolean(opts.includeSecrets), box: () => box! });
  ctx.io.stdout.write(opts.format === 'json' ? JSON.stringify(doc, null, 2) + '\n' : stringify(doc));
}
