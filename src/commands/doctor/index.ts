// `omni doctor [<interaction>] [--json] [--offline]`: every prerequisite of receiving DMs, each
// with pass/fail/warn/skip and the fix. Flags and help only; the action loads when it runs.
import type { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerDoctorCommand(program: Command, run: Runner): void {
  run(
    program
      .command('doctor')
      .description('check every prerequisite of an interaction (database, key, parameters, catalogs, Helper, Twitter, webhook, listener) and say how to fix what fails')
      .argument('[interaction]', 'interaction id or name (default: every live interaction)')
      .option('--offline', 'skip the checks that call Twitter, the Helper or the callback URL')
      .option('--json', 'print {"ok", "checks": [{id, scope, interactionId, status, title, detail, fix}]}')
      .addHelpText(
        'after',
        examples([
          'omni doctor',
          'omni doctor 1',
          'omni doctor Support --offline',
          '# in a deployment script or a cron job: exit 1 when anything fails',
          'omni doctor --json | jq -r \'.checks[] | select(.status == "fail") | "\\(.id): \\(.fix)"\'',
        ]) +
          `
  Each check is pass (✓), fail (✗), warn (!) or skip (−). Exit 0 when nothing failed (warnings and
  skips do not fail), 1 otherwise. A check whose prerequisite failed is skipped, so the failures are
  the causes. The doctor changes no interaction, parameter or webhook: it reads the database, calls
  read-only Twitter endpoints, sends one CRC to each callback URL (as Twitter would) and a GET (never
  a message) to the Helper of parameter 441.
  `,
      ),
    async () => (await import('./doctor.js')).doctorAction,
  );
}
