// `omni audit`: who changed which interaction, catalog entry or parameter, newest first.
import { Option, type Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export const AUDIT_ENTITIES = ['interaction', 'unit', 'group', 'portfolio', 'activity', 'origin', 'contract', 'parameter', 'ticket', 'requester', 'setting'] as const;

export function registerAuditCommand(program: Command, run: Runner): void {
  run(
    program
      .command('audit')
      .description('show the audit trail: every change to interactions, catalogs and parameters, newest first')
      .addOption(new Option('--entity <kind>', 'only changes to this kind of entity').choices(AUDIT_ENTITIES))
      .option('--id <entityId>', 'only changes to this entity (an interaction id, a catalog id, a parameter number)')
      .option('--limit <n>', 'at most this many records', '50')
      .option('--json', 'print a JSON array')
      .addHelpText(
        'after',
        examples([
          'omni audit',
          'omni audit --entity parameter --id 450',
          'omni audit --entity interaction --id 1 --json',
          'omni audit --limit 500 --json > audit.json',
        ]),
      ),
    async () => (await import('./audit.js')).auditAction,
  );
}
