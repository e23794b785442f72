// `omni db status|path`: where the database is and what state it is in.
import type { Command } from 'commander';
import { examples, type Runner } from './run.js';

export function registerDbCommands(program: Command, run: Runner): void {
  const load = () => import('../actions/db.js');
  const cmd = program.command('db').description('the database: where it is and what it holds');

  cmd
    .command('status')
    .description('engine and version, path or URL (password masked), size, schema version and migrations, secret key source, row counts')
    .option('--json', 'print it as JSON')
    .addHelpText('after', examples(['omni db status', 'omni --db ./staging.db db status --json']))
    .action(run(async () => (await load()).statusAction));

  cmd
    .command('path')
    .description('print the resolved database path or URL, password masked (--db, else OMNI_DB, else $XDG_DATA_HOME/omni/omni.db)')
    .addHelpText('after', examples(['omni db path', '# back up the database and its key file together', 'cp "$(omni db path)" "$(omni db path).key" /backup/']))
    .action(run(async () => (await load()).pathAction));

  cmd.addHelpText('after', examples(['omni db status', 'omni db path']));
}
