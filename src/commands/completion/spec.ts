// What shell completion knows, read from the live commander tree (so it never drifts from the real
// commands): every command path, its subcommands, its flags (which take a value, their choices) and
// whether its positional argument is an interaction (completed from the database, when cheap).
import type { CommandUnknownOpts } from '@commander-js/extra-typings';

export interface FlagSpec {
  /** "--json", "-h": every spelling. */
  names: string[];
  description: string;
  takesValue: boolean;
  choices: string[];
  /** The value is a file path (`<path>` in the flag's declaration). */
  path: boolean;
}

export interface CommandSpec {
  /** Words after `omni`, e.g. ["interaction", "new"]; [] for the program. */
  path: string[];
  description: string;
  subcommands: { name: string; aliases: string[]; description: string }[];
  flags: FlagSpec[];
  /** Its first positional argument names an interaction (id or name). */
  interactionArg: boolean;
  /** The choices of its first positional argument (`omni completion <bash|zsh|fish>`). */
  argChoices: string[];
}

export function commandSpecs(program: CommandUnknownOpts): CommandSpec[] {
  const help = program.createHelp();
  const globals = help.visibleOptions(program).map(flagSpec);
  const out: CommandSpec[] = [];
  const walk = (cmd: CommandUnknownOpts, path: string[]) => {
    const subs = help.visibleCommands(cmd).filter((c) => !c.name().startsWith('_'));
    const own = help.visibleOptions(cmd).map(flagSpec);
    const first = cmd.registeredArguments[0];
    out.push({
      path,
      description: cmd.description(),
      subcommands: subs.map((c) => ({ name: c.name(), aliases: c.aliases(), description: c.description() })),
      // The program's options (--db, --no-color, …) are accepted after any command too.
      flags: path.length === 0 ? own : dedupe([...own, ...globals.filter((g) => !g.names.includes('--version') && !g.names.includes('-V'))]),
      interactionArg: first !== undefined && /interaction/i.test(`${first.name()} ${first.description}`) && !/ticket/i.test(first.description),
      argChoices: first?.argChoices ?? [],
    });
    for (const sub of subs) {
      // A noun's own `help` is commander's implicit one: it has no subtree worth walking.
      if (sub.name() === 'help' && path.length > 0) continue;
      // An alias (`ls`, `rm`) completes as the command it stands for.
      for (const name of [sub.name(), ...sub.aliases()]) walk(sub as CommandUnknownOpts, [...path, name]);
    }
  };
  walk(program, []);
  return out;
}

function flagSpec(o: { long?: string | undefined; short?: string | undefined; description: string; required: boolean; optional: boolean; argChoices?: string[] | undefined; flags: string }): FlagSpec {
  return {
    names: [o.long, o.short].filter((n): n is string => typeof n === 'string'),
    description: o.description,
    takesValue: o.required || o.optional,
    choices: o.argChoices ?? [],
    path: /<[^>]*(path|file)[^>]*>/.test(o.flags),
  };
}

function dedupe(flags: FlagSpec[]): FlagSpec[] {
  const seen = new Set<string>();
  return flags.filter((f) => {
    const key = f.names.join(' ');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
