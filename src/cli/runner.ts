// Glue between commander and the actions: builds the Context from the global options and loads the
// action module only when its command runs, so `omni --version` and `--help` load nothing heavy.
// Typed end to end: the positional arguments and options an action receives are inferred from the
// command's declarations (@commander-js/extra-typings), and an action that reads a flag its command
// does not declare, or expects another type than the declaration gives, fails to compile.
import type { Command, OptionValues } from '@commander-js/extra-typings';
import type { Context, GlobalOptions } from './context.js';

/** What an action returns: an exit code, or nothing for 0. */
export type ActionResult = Promise<number | void>;

/** An action: positional arguments as declared, then the command's options. */
export type Action<Args extends unknown[], Opts> = (ctx: Context, args: Args, opts: Opts) => ActionResult;

/**
 * `[]` when the action reads only options the command declares; otherwise a one-element tuple naming
 * the undeclared ones, so the call to `run` fails to compile ("Expected 3 arguments") with the names.
 * (Types and positional arguments are checked by `F extends Action<Args, Opts>`.)
 */
export type DeclaredOnly<Opts, F> = F extends (ctx: Context, args: never, opts: infer Read) => ActionResult
  ? [Exclude<keyof Read, keyof Opts>] extends [never]
    ? []
    : [undeclaredFlags: { readsUndeclared: Exclude<keyof Read, keyof Opts> }]
  : [];

export interface Runner {
  /** Makes `load`'s action the command's handler; `load` runs only when the command does. */
  <Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues, F extends Action<Args, Opts>>(
    cmd: Command<Args, Opts, Globals>,
    load: () => Promise<F>,
    ...declaredOnly: DeclaredOnly<Opts, F>
  ): void;
}

export interface RunState {
  exitCode: number;
}

/** The program's global options, read back from commander's untyped view of a subcommand's parents. */
export function globalOptions(values: Record<string, unknown>): GlobalOptions {
  return {
    ...(typeof values.db === 'string' ? { db: values.db } : {}),
    ...(typeof values.debug === 'boolean' ? { debug: values.debug } : {}),
    ...(typeof values.color === 'boolean' ? { color: values.color } : {}),
    ...(typeof values.input === 'boolean' ? { input: values.input } : {}),
  };
}

export function createRunner(state: RunState, makeContext: (globals: GlobalOptions) => Promise<Context>): Runner {
  return (cmd, load, ..._declaredOnly) => {
    cmd.action(async () => {
      const ctx = await makeContext(globalOptions(cmd.optsWithGlobals()));
      try {
        const action = await load();
        const code = await action(ctx, cmd.processedArgs, cmd.opts());
        state.exitCode = typeof code === 'number' ? code : 0;
      } finally {
        await ctx.close();
      }
    });
  };
}

/** The "Examples:" block every command's --help ends with. */
export function examples(lines: string[]): string {
  return '\nExamples:\n' + lines.map((l) => (l.startsWith('#') ? `  ${l}` : `  $ ${l}`)).join('\n') + '\n';
}
