// `omni db status|path|copy`: where the database is, what state it is in, moving it to PostgreSQL.
import type { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerDbCommands(program: Command, run: Runner): void {
  const cmd = program.command('db').description('the database: where it is, what it holds, moving it to PostgreSQL');

  run(
    cmd
      .command('status')
      .description('engine and version, path or URL (password masked), size, schema version and migrations, secret key source, row counts')
      .option('--json', 'print it as JSON')
      .addHelpText('after', examples(['omni db status', 'omni --db ./staging.db db status --json'])),
    async () => (await import('./status.js')).statusAction,
  );

  run(
    cmd
      .command('path')
      .description('print the resolved database path or URL, password masked (--db, else OMNI_DB, else $XDG_DATA_HOME/omni/omni.db)')
      .addHelpText('after', examples(['omni db path', '# back up the database and its key file together', 'cp "$(omni db path)" "$(omni db path).key" /backup/'])),
    async () => (await import('./path.js')).pathAction,
  );

  run(
    cmd
      .command('copy')
      .description('copy every table into an empty PostgreSQL database (ids kept, sequences reset, row counts verified) and place the secret key')
      .requiredOption('--from <path|url>', 'the installation to copy: a SQLite file (read only) or a postgres:// URL')
      .requiredOption('--to <url>', 'the PostgreSQL database to fill: postgres://user:password@host:5432/db')
      .option('--force', 'delete everything in the target first (it refuses a non-empty target otherwise)')
      .option('--json', 'print the tables copied as JSON')
      .addHelpText(
        'after',
        examples([
          'omni db copy --from ~/.local/share/omni/omni.db --to postgres://omni@db.example.com:5432/omni',
          '# the key file goes to $XDG_CONFIG_HOME/omni/keys/<host>-<port>-<db>.key; copy it to every host',
          'OMNI_DB=postgres://omni@db.example.com:5432/omni omni db status',
        ]),
      ),
    async () => (await import('./copy.js')).copyAction,
  );

  cmd.addHelpText('after', examples(['omni db status', 'omni db path', 'omni db copy --from ./omni.db --to postgres://omni@db:5432/omni']));
}
