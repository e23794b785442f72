// The runner: an action receives the arguments and options its command declares, typed from the
// declarations. The `@ts-expect-error` lines are checked by `tsc -p tests/tsconfig.json` (part of
// `npm test`): each must stay an error, or the type check fails.
import { PassThrough } from 'node:stream';
import { Command, Option } from '@commander-js/extra-typings';
import { describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/cli/context.js';
import { createRunner, globalOptions, type RunState } from '../../src/cli/runner.js';
import { tempDir } from '../support/tmp.js';

function harness() {
  const state: RunState = { exitCode: -1 };
  const contexts: { globals: unknown; closed: boolean }[] = [];
  const dir = tempDir();
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  const run = createRunner(state, async (globals) => {
    const ctx = createContext({ db: `${dir}/never-opened.db`, ...globals }, io, {});
    const seen = { globals, closed: false };
    contexts.push(seen);
    return { ...ctx, close: async () => void (seen.closed = true) };
  });
  const program = new Command('omni').option('--db <path>').option('--debug').exitOverride();
  return { state, contexts, run, program };
}

describe('createRunner', () => {
  it('hands the action its declared positional arguments and options, sets the exit code, and closes the context', async () => {
    const { state, contexts, run, program } = harness();
    let received: { ref: string; text: string | undefined; limit: string; status: 'open' | 'all'; json: true | undefined } | undefined;
    run(
      program
        .command('reply')
        .argument('<ref>')
        .argument('[text]')
        .option('--limit <n>', 'page size', '50')
        .addOption(new Option('--status <s>').choices(['open', 'all'] as const).default('open' as const))
        .option('--json'),
      async () => async (_ctx: Context, [ref, text]: [string, string | undefined], opts: { limit: string; status: 'open' | 'all'; json?: true }) => {
        received = { ref, text, limit: opts.limit, status: opts.status, json: opts.json };
        return 3;
      },
    );
    await program.parseAsync(['node', 'omni', '--debug', 'reply', '12', '--status', 'all', '--json']);
    expect(received).toEqual({ ref: '12', text: undefined, limit: '50', status: 'all', json: true });
    expect(state.exitCode).toBe(3);
    expect(contexts).toEqual([{ globals: { debug: true }, closed: true }]);
  });

  it('closes the context when the action throws, and loads nothing for a command that does not run', async () => {
    const { contexts, run, program } = harness();
    let loaded = 0;
    run(program.command('boom'), async () => {
      loaded++;
      return async () => {
        throw new Error('boom');
      };
    });
    run(program.command('other'), async () => {
      loaded += 100;
      return async () => undefined;
    });
    await expect(program.parseAsync(['node', 'omni', 'boom'])).rejects.toThrow('boom');
    expect(loaded).toBe(1);
    expect(contexts.map((c) => c.closed)).toEqual([true]);
  });

  it('reads the global options back with their types, ignoring what is not one', () => {
    expect(globalOptions({ db: 'x.db', debug: true, color: false, input: false, json: true })).toEqual({ db: 'x.db', debug: true, color: false, input: false });
    expect(globalOptions({ db: 1, debug: 'yes' })).toEqual({});
  });
});

describe('the compiler refuses an action that does not fit its command', () => {
  it('only compiles when the action reads declared flags with their declared types', () => {
    const { run, program } = harness();
    const list = program.command('list').option('--max <n>', 'page size', '50').option('--json');

    // Fits: reads what is declared (an option it leaves unread is fine).
    run(list, async () => async (_ctx: Context, _args: [], opts: { max: string }) => void opts.max);

    // @ts-expect-error the flag was renamed to --max: an action still reading --limit must not compile
    run(list, async () => async (_ctx: Context, _args: [], opts: { limit?: string; json?: boolean }) => void opts.limit);

    // @ts-expect-error --max is a string as commander hands it over; parsing is the action's job (src/cli/flags.ts)
    run(list, async () => async (_ctx: Context, _args: [], opts: { max: number }) => void opts.max);

    // @ts-expect-error the command declares no positional argument
    run(list, async () => async (_ctx: Context, [id]: [string], _opts: { json?: boolean }) => void id);

    const show = program.command('show').argument('[id]');
    // @ts-expect-error an optional argument may be undefined: the action must say so
    run(show, async () => async (_ctx: Context, [id]: [string]) => void id.length);
    run(show, async () => async (_ctx: Context, [id]: [string | undefined]) => void id);
    expect(program.commands.map((c) => c.name())).toEqual(['list', 'show']);
  });
});
