// `omni db path`: the resolved database path.
import type { Context } from '../../cli/context.js';

export async function pathAction(ctx: Context): Promise<void> {
  ctx.out(ctx.dbPath);
}
