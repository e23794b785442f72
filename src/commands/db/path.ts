// `omni db path`: the resolved database path, or the URL with its password masked.
import type { Context } from '../../cli/context.js';

export async function pathAction(ctx: Context): Promise<void> {
  ctx.out(ctx.dbDisplay);
}
