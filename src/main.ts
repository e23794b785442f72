// The program: global options, the command tree, and errors → exit codes.
// Command modules only register flags and help; their actions are imported when they run.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { colorEnabled, createContext, type GlobalOptions } from './cli/context.js';
import type { IO } from './cli/io.js';
import { ExitCode, isUserFacing } from './errors.js';
import { createRunner, examples, type RunState } from './cli/runner.js';
import { registerCatalogCommands } from './commands/catalog/index.js';
import { registerApplyCommands } from './commands/apply/index.js';
import { registerParamCommands } from './commands/param/index.js';
import { registerAuditCommand } from './commands/audit/index.js';
import { registerDbCommands } from './commands/db/index.js';
import { registerInteractionCommands } from './commands/interaction/index.js';
import { registerWebhookCommands } from './commands/webhook/index.js';
import { registerListenCommands } from './commands/listen/index.js';
import { registerSimulateCommands } from './commands/simulate/index.js';
import { registerTicketCommands } from './commands/ticket/index.js';
import { registerRequesterCommands } from './commands/requester/index.js';
import { registerDoctorCommand } from './commands/doctor/index.js';
import { registerOutboxCommands } from './commands/outbox/index.js';
import { registerCompletionCommands } from './commands/completion/index.js';
import { registerRetentionCommands } from './commands/retention/index.js';
import { registerStatusCommand } from './commands/status/index.js';
import { registerNotifyCommands } from './commands/notify/index.js';
import { registerReconcileCommand } from './commands/reconcile/index.js';
import { registerUsageCommand } from './commands/usage/index.js';

const EXIT_CODES_HELP = `
Getting started:
  $ omni unit add HQ && omni group add Support && omni portfolio add Service
  $ omni activity add "Twitter DM" --portfolio Service
  $ omni interaction new              # the 4biz form (flags and env in scripts)
  $ omni listen                       # then: omni webhook register 1, omni doctor

Exit codes:
  0  success
  1  failure (not found, refused by a dependency, ...)
  2  usage or validation error
  4  input needed but not interactive (pass the flag named in the message)

Environment:
  OMNI_DB               database file, or postgres://user:password@host:5432/db (default $XDG_DATA_HOME/omni/omni.db)
  OMNI_DB_POOL_SIZE     PostgreSQL connections per omni process (default 10)
  OMNI_SECRET_KEY       base64 of 32 bytes encrypting stored credentials (default: key file beside the database;
                        PostgreSQL: $XDG_CONFIG_HOME/omni/keys/<host>-<port>-<db>.key, see omni db status)
  OMNI_TWITTER_API_URL  Twitter API base URL (default https://api.twitter.com)
  NO_COLOR              disable colour
  (listen, outbox and Helper settings: omni listen --help, and README)
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(io: IO, env: NodeJS.ProcessEnv, state: RunState): Command {
  const program = new Command('omni');
  program
    .description('Administer omnichannel helpdesk interactions: Twitter (X) Direct Messages into tickets.')
    .version(version(), '-V, --version', 'print the version')
    .option('--db <path|url>', 'database file or postgres:// URL (env OMNI_DB; default $XDG_DATA_HOME/omni/omni.db)')
    .option('--db-pool-size <n>', 'PostgreSQL connections per process (env OMNI_DB_POOL_SIZE; default 10)')
    .option('--debug', 'print stack traces and internal details on errors')
    .option('--no-color', 'disable colour (also NO_COLOR)')
    .addOption(new Option('--no-input', 'never prompt; fail with exit code 4 when a value is missing'))
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .addHelpText('after', EXIT_CODES_HELP)
    .helpCommand(false)
    .exitOverride();

  const run = createRunner(state, async (globals: GlobalOptions) => createContext(globals, io, env));
  // In the order a new user needs them (`omni --help` lists them so): the interaction and its
  // Twitter wiring, the daemon and what it produces, then the reference data and administration.
  registerInteractionCommands(program, run);
  registerWebhookCommands(program, run);
  registerListenCommands(program, run);
  registerStatusCommand(program, run);
  registerNotifyCommands(program, run);
  registerSimulateCommands(program, run);
  registerTicketCommands(program, run);
  registerRequesterCommands(program, run);
  registerOutboxCommands(program, run);
  registerReconcileCommand(program, run);
  registerUsageCommand(program, run);
  registerRetentionCommands(program, run);
  registerDoctorCommand(program, run);
  registerCatalogCommands(program, run);
  registerParamCommands(program, run);
  registerApplyCommands(program, run);
  registerAuditCommand(program, run);
  registerDbCommands(program, run);
  registerCompletionCommands(program, run);
  addHelpCommand(program);
  // Every subcommand inherits output routing and exitOverride so usage errors map to exit code 2.
  const inherit = (cmd: CommandUnknownOpts) => {
    for (const sub of cmd.commands) {
      sub.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
      sub.exitOverride();
      sub.showSuggestionAfterError(true);
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

/**
 * `omni help <noun> <verb> …`: the help of the command at any depth, as `--help` on it would print.
 * Commander's own help command looks at its first argument only (`omni help ticket reply` would print
 * the `ticket` help), so the program has this one instead; nouns keep theirs (`omni ticket help reply`).
 */
function addHelpCommand(program: CommandUnknownOpts): void {
  program
    .command('help')
    .description('display help for a command, at any depth: omni help ticket reply')
    .argument('[command...]', 'the command, as typed after omni')
    .addHelpText('after', examples(['omni help ticket reply', 'omni help interaction', 'omni help param set']))
    .action((names) => {
      let target: CommandUnknownOpts = program;
      for (const [i, name] of names.entries()) {
        const next = target.commands.find((c) => c.name() === name || c.aliases().includes(name));
        if (!next) {
          const known = target.commands.map((c) => c.name()).filter((n) => n !== 'help');
          const where = ['omni', ...names.slice(0, i)].join(' ');
          program.error(`error: unknown command '${names.slice(0, i + 1).join(' ')}'; ${known.length > 0 ? `${where} has: ${known.join(', ')}` : `${where} has no subcommands`}`, {
            code: 'commander.unknownCommand',
            exitCode: ExitCode.usage,
          });
        }
        target = next;
      }
      target.help();
    });
}

const processIO: IO = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

export async function main(argv: string[], io: IO = processIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const state: RunState = { exitCode: 0 };
  const program = buildProgram(io, env, state);
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here as "errors" with exit code 0.
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help') return 0;
      return ExitCode.usage;
    }
    return reportError(err, io, env, debug, argv.includes('--no-color'));
  }
}

function reportError(err: unknown, io: IO, env: NodeJS.ProcessEnv, debug: boolean, noColor: boolean): number {
  // Same rules as data output (--no-color, NO_COLOR, FORCE_COLOR), judged on stderr's terminal.
  const useColor = colorEnabled({ color: !noColor }, env, { ...io, stdout: io.stderr });
  const red = (s: string) => (useColor ? `\u001b[31m${s}\u001b[39m` : s);
  if ((err as Error)?.name === 'ExitPromptError') {
    io.stderr.write('cancelled\n');
    return 130;
  }
  if (isUserFacing(err)) {
    io.stderr.write(`${red('error:')} ${err.message}\n`);
    if (err.hint) io.stderr.write(`  ${err.hint}\n`);
    if (debug && err instanceof Error && err.stack) io.stderr.write(err.stack + '\n');
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`${red('error:')} ${message}\n`);
  if (debug) {
    io.stderr.write(((err as Error)?.stack ?? String(err)) + '\n');
  } else {
    io.stderr.write('  this looks like a bug in omni; run again with --debug for the stack trace and report it\n');
  }
  return ExitCode.failure;
}
