// `omni param list|get|show|set|unset`: the numbered 4biz parameters (src/parameters.ts says what each means).
import type { Command } from '@commander-js/extra-typings';
import { PARAM_NUMBERS } from '../../parameters.js';
import { examples, type Runner } from '../../cli/runner.js';

export function registerParamCommands(program: Command, run: Runner): void {
  const known = `known numbers: ${PARAM_NUMBERS.join(' ')}`;
  const cmd = program
    .command('param')
    .description('the numbered 4biz parameters (Smartchat 118-447, Helper 402-453)');

  run(
    cmd
      .command('list')
      .alias('ls')
      .description('list every parameter: number, name, value, and whether omni acts on it')
      .option('--json', 'print a JSON array')
      .addHelpText('after', examples(['omni param list', 'omni param list --json'])),
    async () => (await import('./list.js')).listAction,
  );

  run(
    cmd
      .command('get')
      .description('print the bare stored value of one parameter (for scripts; nothing and exit 1 when unset)')
      .argument('<number>', known)
      .option('--long', 'print the block of omni param show instead')
      .option('--json', 'print it as JSON (value null when unset, exit 0)')
      .addHelpText(
        'after',
        `
  Prints the stored value alone on one line, as git config --get does: a catalog parameter
  prints its id. When the parameter is not set it prints nothing and exits 1, so
    value=$(omni param get 441) || echo "441 is not set"
  works in a script. For people: omni param show <number>.
` + examples(['omni param get 450', 'omni param get 390', 'omni param get 118 --json', 'omni param get 450 --long']),
      ),
    async () => (await import('./get.js')).getAction,
  );

  run(
    cmd
      .command('show')
      .description('show one parameter: value (catalog entries named), what it takes, what omni does with it')
      .argument('<number>', known)
      .option('--json', 'print it as JSON')
      .addHelpText('after', examples(['omni param show 450', 'omni param show 390 --json'])),
    async () => (await import('./get.js')).showAction,
  );

  run(
    cmd
      .command('set')
      .description('set a parameter (validated; catalog parameters take an id or a name and store the id)')
      .argument('<number>', known)
      .argument('<value>', 'Y/N, a catalog id or name, a positive integer, a URL or text, by parameter')
      .option('--json', 'print the parameter after the change as JSON')
      .addHelpText(
        'after',
        `
  Values:
    Y/N        316 423 450 (y/n accepted)
    catalog    118 contract, 315 contact origin, 317 activity, 389 group, 390 unit (id or name)
    integer    388 user id, 447 e-mail template id
    URL        402; 441 ends in /webhooks/rest/webhook; 442 ends in /conversations/
    text       453 (sent as a Direct Message)
  ` +
          examples([
            'omni param set 450 Y',
            'omni param set 315 Twitter',
            'omni param set 118 "Standard support"',
            'omni param set 441 https://bot.example.com/webhooks/rest/webhook',
            'omni param set 453 "Sorry, I did not get that. Type menu to see the options."',
          ]),
      ),
    async () => (await import('./set.js')).setAction,
  );

  run(
    cmd
      .command('unset')
      .description('clear a parameter')
      .argument('<number>', known)
      .addHelpText('after', examples(['omni param unset 441'])),
    async () => (await import('./unset.js')).unsetAction,
  );

  cmd.addHelpText('after', examples(['omni param list', 'omni param set 390 Headquarters', 'omni param show 390', 'omni param get 390']));
}
