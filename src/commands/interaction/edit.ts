// `omni interaction edit <id|name>`: the wizard pre-filled with the current values, or flags /
// environment / --secrets-file changing only what they give. The identifier never changes.
import type { Context } from '../../cli/context.js';
import { findInteraction, getInteraction, updateInteraction } from '../../db/interactions.js';
import { recordAudit } from '../../db/audit.js';
import { OmniError, UsageError } from '../../errors.js';
import { printJson, success } from '../../cli/output.js';
import {
  SECRET_FIELDS,
  decryptSecrets,
  encryptSecrets,
  interactionJson,
  valuesFromRow,
  valuesToColumns,
  type InteractionValues,
  type Secrets,
} from '../../interactions/model.js';
import {
  resolveInteractionInput,
} from '../../interactions/rules.js';
import {
  auditChanges,
  interactionChanges,
} from '../../interactions/changes.js';
import { applyInput, dbCatalogPort, gatherSecrets, nameTaken, resolveRefs, type InteractionFlags } from './input.js';
import { runInteractionWizard } from './wizard.js';
import { changeLines } from './format.js';

const EDIT_FLAGS = '--name, --channel, --unit, --group, --activity, --origin, --helper/--no-helper, --env-label, --callback-url';

export async function editAction(ctx: Context, [ref]: [string], opts: InteractionFlags): Promise<number> {
  const allowHttp = Boolean(opts.allowHttp);
  const given = await gatherSecrets(ctx, opts.secretsFile);
  const db = (await ctx.db()).kysely;
  const row = await findInteraction(db, ref);
  const box = await ctx.secrets();
  // Decrypting first proves the key is the right one before anything is re-encrypted with it.
  const currentSecrets = decryptSecrets(row, box);
  const before = valuesFromRow(row);

  const { values: checked } = resolveInteractionInput(opts, given.values, { mode: 'update', allowHttp });
  const refs = await resolveRefs(db, checked);
  if (checked.name !== undefined && (await nameTaken(db, checked.name, row.id))) {
    throw new UsageError(`an interaction named '${checked.name}' already exists`, 'choose another --name');
  }

  let after: InteractionValues;
  let secrets: Partial<Secrets>;
  if (ctx.interactive) {
    const prompter = await ctx.prompter();
    const result = await runInteractionWizard(
      { prompter, catalogs: dbCatalogPort(ctx, db), isNameTaken: (name) => nameTaken(db, name, row.id) },
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
    if (!(await prompter.confirm({ message: 'Save these changes?', default: true }))) {
      ctx.err('not saved');
      return 1;
    }
  }

  const changedSecrets: Partial<Secrets> = {};
  for (const c of changes) if (c.secret) changedSecrets[c.field as keyof Secrets] = secrets[c.field as keyof Secrets]!;
  const now = ctx.clock().toISOString();
  await db.transaction().execute(async (trx) => {
    await updateInteraction(trx, row.id, { ...valuesToColumns(after), ...encryptSecrets(changedSecrets, box), updated_at: now });
    await recordAudit(trx, {
      at: now,
      actor: ctx.actor,
      entity: 'interaction',
      entityId: row.id,
      action: 'update',
      changes: auditChanges(changes, 'update'),
    });
  });

  const updated = await getInteraction(db, row.id);
  if (!updated) throw new OmniError(`interaction ${row.id} vanished while it was being edited`, { hint: 'run omni interaction list --deleted' });
  success(ctx, `updated interaction ${row.id} '${updated.name}'`);
  for (const line of changeLines(changes)) ctx.err(`  ${line}`);
  if (opts.json) printJson(ctx, interactionJson(updated, box));
  return 0;
}
