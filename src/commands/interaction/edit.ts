// `omni interaction edit <id|name>`: the wizard pre-filled with the current values, or flags /
// environment / --secrets-file changing only what they give. The identifier never changes.
import type { Context } from '../../cli/context.js';
import { findInteraction, getInteraction } from '../../db/interactions.js';
import { OmniError, UsageError } from '../../errors.js';
import { printJson, success } from '../../cli/output.js';
import {
  SECRET_FIELDS,
  decryptSecrets,
  interactionJson,
  valuesFromRow,
  type InteractionValues,
  type Secrets,
} from '../../interactions/model.js';
import {
  flagError,
  resolveInteractionInput,
} from '../../interactions/rules.js';
import { interactionChanges } from '../../interactions/changes.js';
import { InteractionRefused } from '../../interactions/problems.js';
import { nameTakenProblem, updateInteraction } from '../../interactions/write.js';
import { applyInput, createdEntriesText, dbCatalogPort, gatherSecrets, reportingCreated, resolveRefs, type InteractionFlags } from './input.js';
import { runInteractionWizard } from './wizard.js';
import { changeLines } from './format.js';

const EDIT_FLAGS = '--name, --channel, --unit, --group, --activity, --origin, --helper/--no-helper, --env-label, --callback-url';

export async function editAction(ctx: Context, [ref]: [string], opts: InteractionFlags): Promise<number> {
  let allowHttp = Boolean(opts.allowHttp);
  const given = await gatherSecrets(ctx, opts.secretsFile);
  const db = (await ctx.db()).kysely;
  const row = await findInteraction(db, ref);
  const box = await ctx.secrets();
  // Decrypting first proves the key is the right one before anything is re-encrypted with it.
  const currentSecrets = decryptSecrets(row, box);
  const before = valuesFromRow(row);

  const { values: checked } = resolveInteractionInput(opts, given.values, { mode: 'update', allowHttp });
  const refs = await resolveRefs(db, checked);
  const taken = checked.name === undefined ? undefined : await nameTakenProblem(db, checked.name, row.id);
  if (taken) throw flagError(taken);

  const catalogs = dbCatalogPort(ctx, db);
  let code = 1;
  let wrote = false;
  // Whatever ends this edit unsaved (declined, Ctrl-C, an error, nothing to change) says what the
  // wizard created and kept.
  await reportingCreated(ctx, catalogs.created, async () => {
    code = await edit();
    return wrote;
  });
  return code;

  async function edit(): Promise<number> {
    let after: InteractionValues;
    let secrets: Partial<Secrets>;
    if (ctx.interactive) {
      const prompter = await ctx.prompter();
      const result = await runInteractionWizard(
        { prompter, catalogs, nameTaken: (name) => nameTakenProblem(db, name, row.id) },
        {
          identifier: row.id,
          current: { values: before, secrets: currentSecrets },
          preset: { checked, refs },
          presetSecrets: given,
          allowHttp,
        },
      );
      after = result.values;
      secrets = result.secrets;
      allowHttp = result.allowHttp;
    } else {
      const anyGiven = Object.keys(checked).length > 0 || SECRET_FIELDS.some((f) => given.values[f] !== undefined);
      if (!anyGiven) {
        throw new UsageError(
          `nothing to change for interaction ${row.id} '${row.name}'`,
          `give at least one of ${EDIT_FLAGS}, or secrets through OMNI_TWITTER_* / --secrets-file`,
        );
      }
      after = applyInput(before, checked, refs);
      secrets = given.values;
    }

    const changes = interactionChanges(before, after, secrets, currentSecrets);
    if (changes.length === 0) {
      ctx.err(`nothing changed: interaction ${row.id} '${row.name}' already has these values`);
      if (opts.json) printJson(ctx, interactionJson(row, box));
      return 0;
    }
    if (ctx.interactive) {
      const prompter = await ctx.prompter();
      prompter.note('');
      prompter.note(`Changes to interaction ${row.id}:`);
      for (const line of changeLines(changes)) prompter.note(`  ${line}`);
      if (catalogs.created.length > 0) {
        prompter.note(`  Created in this wizard, and kept even if you do not save: ${createdEntriesText(catalogs.created)}`);
      }
      if (!(await prompter.confirm({ message: 'Save these changes?', default: true }))) {
        ctx.err('not saved');
        return 1;
      }
    }

    let written = changes;
    try {
      written = await updateInteraction(db, row.id, { values: after, secrets }, { now: ctx.clock().toISOString(), actor: ctx.actor, box, allowHttp });
      wrote = true;
    } catch (err) {
      // Checked before, but another omni may have taken the name meanwhile: word it for the flags.
      if (err instanceof InteractionRefused) throw flagError(err.problems[0]!);
      throw err;
    }

    const updated = await getInteraction(db, row.id);
    if (!updated) throw new OmniError(`interaction ${row.id} vanished while it was being edited`, { hint: 'run omni interaction list --deleted' });
    success(ctx, `updated interaction ${row.id} '${updated.name}'`);
    // On a terminal the list was shown just above the confirm: repeat it only if the write found
    // something else (another omni changed the interaction meanwhile).
    const writtenLines = changeLines(written);
    if (!ctx.interactive || writtenLines.join('\n') !== changeLines(changes).join('\n')) {
      for (const line of writtenLines) ctx.err(`  ${line}`);
    }
    if (opts.json) printJson(ctx, interactionJson(updated, box));
    return 0;
  }
}
