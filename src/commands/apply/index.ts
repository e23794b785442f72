// `omni apply` and `omni export`: provisioning as code, for CI pipelines.
import type { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerApplyCommands(program: Command, run: Runner): void {
  run(
    program
      .command('apply')
      .description('create or update catalogs, parameters and interactions declared in a YAML or JSON file')
      .requiredOption('-f, --file <path|->', 'the file to apply (- reads standard input)')
      .option('--dry-run', 'print the plan and change nothing')
      .option('--prune', 'delete (logically) live interactions the file does not declare')
      .option('--register-webhooks', 'after the commit, register the webhooks of created or changed interactions')
      .option('--json', 'print the plan and result as JSON')
      .addHelpText(
        'after',
        `
  The file declares everything by name; secrets come from \${env:NAME} or \${file:path}
  references so it can be committed. Schema: schema/omni-apply.schema.json in the package.
  Applying twice reports "no changes". Any error changes nothing and lists every problem
  with its path in the file (exit 2).
  ` +
          examples([
            'omni apply -f helpdesk.yaml --dry-run',
            'omni apply -f helpdesk.yaml',
            '# in CI, with the secrets in the environment:',
            'TW_API_KEY=... omni --no-input apply -f helpdesk.yaml --prune --json',
            'omni export | omni apply -f - --dry-run',
          ]),
      ),
    async () => (await import('./apply.js')).applyAction,
  );

  run(
    program
      .command('export')
      .description('print catalogs, parameters and interactions in the apply file format')
      .option('--format <yaml|json>', 'output format', 'yaml')
      .option('--include-secrets', 'include the four credentials and the X Chat key blob in clear (otherwise left out: apply keeps the stored ones)')
      .addHelpText('after', examples(['omni export > helpdesk.yaml', 'omni export --format json', 'omni export | omni apply -f - --dry-run'])),
    async () => (await import('./export.js')).exportAction,
  );
}
