// `omni interaction new`: the 4biz form as a wizard on a terminal, or flags + environment in a script.
import type { Kysely } from 'kysely';
import type { Context } from '../../cli/context.js';
import type { Database } from '../../db/schema.js';
import { getInteraction, nextInteractionId } from '../../db/interactions.js';
import { InputNeededError, OmniError } from '../../errors.js';
import { printJson, success } from '../../cli/output.js';
import type { SecretBox } from '../../secrets.js';
import {
  DEFAULT_API,
  SECRET_FIELDS,
  interactionJson,
  isChannel,
  webhookUrl,
  type InteractionValues,
  type Secrets,
} from '../../interactions/model.js';
import {
  flagError,
  resolveInteractionInput,
} from '../../interactions/rules.js';
import { IdentifierMoved, createInteraction, nameTakenProblem } from '../../interactions/write.js';
import { InteractionRefused } from '../../interactions/problems.js';
import {
  assertKeyFits,
  createdEntriesText,
  dbCatalogPort,
  reportingCreated,
  defaultOrigin,
  gatherSecrets,
  resolveRefs,
  type InteractionFlags,
} from './input.js';
import { runInteractionWizard } from './wizard.js';
import { alignRows, formRows, maskAll } from './format.js';

async function save(ctx: Context, db: Kysely<Database>, box: SecretBox, allowHttp: boolean, values: InteractionValues, secrets: Secrets, expectedId?: number): Promise<number> {
  try {
    return await createInteraction(db, { values, secrets }, { now: ctx.clock().toISOString(), actor: ctx.actor, box, allowHttp }, expectedId === undefined ? {} : { expectedId });
  } catch (err) {
    // Checked before, but another omni may have taken the name meanwhile: word it for the flags.
    if (err instanceof InteractionRefused) throw flagError(err.problems[0]!);
    throw err;
  }
}

export async function newAction(ctx: Context, _args: [], opts: InteractionFlags): Promise<number> {
  let allowHttp = Boolean(opts.allowHttp);
  const given = await gatherSecrets(ctx, opts.secretsFile);
  const db = (await ctx.db()).kysely;

  // An unknown channel is refused by resolveInteractionInput; only a known one has a usual origin.
  const rawChannel = opts.channel?.trim() ?? 'twitter-dm';
  const usualOrigin = isChannel(rawChannel) ? await defaultOrigin(db, rawChannel) : undefined;
  const { values: checked, missing } = resolveInteractionInput(opts, given.values, { mode: 'create', allowHttp, hasDefaultOrigin: usualOrigin !== undefined });
  if (!ctx.interactive && missing.length > 0) {
    throw new InputNeededError(missing, 'run on a terminal for the wizard, or see: omni interaction new --help');
  }
  const refs = await resolveRefs(db, checked);
  // Checked before the wizard too, so nobody types four secrets only to hit a taken name at the end.
  const taken = checked.name === undefined ? undefined : await nameTakenProblem(db, checked.name);
  if (taken) throw flagError(taken);
  // Only now: a run refused for missing input should not leave a fresh key file behind.
  const box = await ctx.secrets();
  await assertKeyFits(db, box);

  let expectedId: number;
  if (ctx.interactive) {
    const prompter = await ctx.prompter();
    expectedId = await nextInteractionId(db);
    const catalogs = dbCatalogPort(ctx, db);
    let id = expectedId;
    const saved = await reportingCreated(ctx, catalogs.created, async () => {
      const result = await runInteractionWizard(
        {
          prompter,
          catalogs,
          nameTaken: (name) => nameTakenProblem(db, name),
        },
        { identifier: id, preset: { checked, refs }, presetSecrets: given, allowHttp },
      );
      const wanted = { values: result.values, secrets: complete(result.secrets) };
      allowHttp = result.allowHttp;
      for (;;) {
        prompter.note('');
        prompter.note('Summary');
        for (const line of alignRows(formRows(id, wanted.values, maskAll(wanted.secrets), ' (assigned by omni)'), '  ')) prompter.note(line);
        if (catalogs.created.length > 0) {
          prompter.note(`  Created in this wizard, and kept even if you do not save: ${createdEntriesText(catalogs.created)}`);
        }
        if (!(await prompter.confirm({ message: 'Save this interaction?', default: true }))) {
          ctx.err('not saved');
          return false;
        }
        try {
          await save(ctx, db, box, allowHttp, wanted.values, wanted.secrets, id);
          return true;
        } catch (err) {
          if (!(err instanceof IdentifierMoved)) throw err;
          prompter.note(`another interaction took identifier ${id} meanwhile; this one will be ${err.actual}`);
          id = err.actual;
        }
      }
    });
    if (!saved) return 1;
    expectedId = id;
  } else {
    const values: InteractionValues = {
      name: checked.name!,
      channel: checked.channel ?? 'twitter-dm',
      api: checked.api ?? DEFAULT_API,
      unit: refs.unit!,
      group: refs.group!,
      activity: refs.activity!,
      contactOrigin: refs.contactOrigin ?? usualOrigin!,
      helperInterception: checked.helper ?? false,
      devEnvironment: checked.devEnvironment ?? '',
      callbackUrl: checked.callbackUrl!,
      silenceAlert: checked.silenceAlert ?? null,
    };
    expectedId = await save(ctx, db, box, allowHttp, values, complete(given.values));
  }

  const row = await getInteraction(db, expectedId);
  if (!row) throw new OmniError(`interaction ${expectedId} vanished right after it was saved`, { hint: 'run omni interaction list; another process may have deleted it' });
  if (opts.json) printJson(ctx, interactionJson(row, box));
  success(ctx, `created interaction ${row.id} '${row.name}'`);
  ctx.err(`  webhook URL: ${webhookUrl(row.callback_url, row.id)}`);
  return 0;
}

/** Both paths guarantee all four secrets (the wizard asks, scripts fail on missing ones); a gap is a bug. */
function complete(s: Partial<Secrets>): Secrets {
  for (const f of SECRET_FIELDS) {
    if (s[f] === undefined) throw new Error(`internal: the ${f} was neither asked nor given`);
  }
  return s as Secrets;
}
