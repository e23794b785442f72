// `omni db status|path`: where the database is and what state it is in.
import type { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerDbCommands(program: Command, run: Runner): void {
  const cmd = program.command('db').description('the database: where it is and what it holds');

  run(
    cmd
      .command('status')
      .description('path, size, schema version and migrations, journal mode, secret key source, row counts')
      .option('--json', 'print it as JSON')
      .addHelpText('after', examples(['omni db status', 'omni --db ./staging.db db status --json'])),
    async () => (await import('./status.js')).statusAction,
  );

  run(
    cmd
      .command('path')
      .description('print the resolved database path (--db, else OMNI_DB, else $XDG_DATA_HOME/omni/omni.db)')
      .addHelpText('after', examples(['omni db path', '# back up the database and its key file together', 'cp "$(omni db path)" "$(omni db path).key" /backup/'])),
    async () => (await import('./path.js')).pathAction,
  );

  cmd.addHelpText('after', examples(['omni db status', 'omni db path']));
}
