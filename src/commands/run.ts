// Glue between commander and actions: builds the Context from global options and lazy-loads the
// action module only when its command runs, so `omni --version` and `--help` load nothing heavy.
import type { Command } from 'commander';
import type { Context } from '../context.js';

/** An action: positional arguments as declared, then the command's options. Returns an exit code. */
export type Action = (ctx: Context, args: any, opts: any) => Promise<number | void>;

export interface Runner {
  /** Wraps a lazily imported action into a commander action handler. */
  (load: () => Promise<Action>): (...params: any[]) => Promise<void>;
}

export interface RunState {
  exitCode: number;
}

export function createRunner(state: RunState, makeContext: (globals: any) => Promise<Context>): Runner {
  return (load) =>
    async (...params: any[]) => {
      const cmd = params[params.length - 1] as Command;
      const opts = params[params.length - 2] as Record<string, unknown>;
      const args = params.slice(0, -2);
      const ctx = await makeContext(cmd.optsWithGlobals());
      try {
        const action = await load();
        const code = await action(ctx, args, opts);
        state.exitCode = typeof code === 'number' ? code : 0;
      } finally {
        await ctx.close();
      }
    };
}

/** The "Examples:" block every command's --help ends with. */
export function examples(lines: string[]): string {
  return '\nExamples:\n' + lines.map((l) => (l.startsWith('#') ? `  ${l}` : `  $ ${l}`)).join('\n') + '\n';
}
