// `omni param list|get|set|unset`: the numbered 4biz parameters (src/parameters.ts says what each means).
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
      .description('show one parameter')
      .argument('<number>', known)
      .option('--json', 'print it as JSON')
      .addHelpText('after', examples(['omni param get 450', 'omni param get 118 --json'])),
    async () => (await import('./get.js')).getAction,
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

  cmd.addHelpText('after', examples(['omni param list', 'omni param set 390 Headquarters', 'omni param get 390 --json']));
}
