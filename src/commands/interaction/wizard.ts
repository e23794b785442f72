// The interaction wizard: the 4biz form's fields in the form's order, asked only through the
// injected Prompter. Values given as flags (or secrets given through the environment / a file) skip
// their step; on edit every answer defaults to the current value and an empty secret keeps it.
import type { Prompter, Choice } from '../../cli/prompter.js';
import type { CatalogRow } from '../../db/catalogs.js';
import { catalogNameRule, catalogProblemFix, catalogProblemSentence } from '../../catalogs/write.js';
import type { CatalogPort, PickableKind as CatalogKind, ResolvedRefs } from './input.js';
import {
  formatSilence,
  API_GENERATIONS,
  CHANNELS,
  DEFAULT_API,
  FIELD_LABELS,
  isApiGeneration,
  type ApiGeneration,
  SECRET_FIELDS,
  isChannel,
  type CatalogRef,
  type Channel,
  type InteractionValues,
  type SecretField,
  type Secrets,
} from '../../interactions/model.js';
import {
  callbackUrlRule,
  devEnvironmentRule,
  isLoopbackUrl,
  nameRule,
  normalizeCallbackUrl,
  secretRule,
  type CheckedInput,
} from '../../interactions/rules.js';
import { problemFix, problemLine, type Problem } from '../../interactions/problems.js';
import { maskSecret } from '../../secrets.js';

export interface WizardDeps {
  prompter: Prompter;
  catalogs: CatalogPort;
  /** The name-taken problem when a live interaction other than the one being edited has this name in any case. */
  nameTaken: (name: string) => Promise<Problem | undefined>;
}

export interface WizardInput {
  /** The identifier shown read-only: the one omni will assign (new) or the current one (edit). */
  identifier: number;
  /** Edit: the current values and secrets, used as defaults. */
  current?: { values: InteractionValues; secrets: Secrets };
  /** Values given as flags, already checked and looked up: their steps are skipped. */
  preset: { checked: CheckedInput; refs: ResolvedRefs };
  /** Secrets given through the environment or --secrets-file, with where they came from. */
  presetSecrets: { values: Partial<Secrets>; sources: Partial<Record<SecretField, string>> };
  allowHttp: boolean;
}

export interface WizardResult {
  values: InteractionValues;
  /** Secrets entered or given; on edit, only those not kept. */
  secrets: Partial<Secrets>;
  /** --allow-http, or plain http accepted in the wizard for a loopback callback URL. */
  allowHttp: boolean;
}

/** What the wizard suggests for a local trial: `omni listen`'s default port on this machine. */
export const LOCAL_TRIAL_CALLBACK = 'http://localhost:8080';

const CREATE = 'create-new' as const;
type Picked = number | typeof CREATE;
/** How to fix a problem at a prompt: the same sentence as everywhere, the fix worded for a person typing. */
export function promptFix(p: Problem): string | undefined {
  switch (p.code) {
    case 'http-needs-allow-http':
      // Plain http is offered in the wizard for a loopback host only (see the callback step).
      return `type an https URL; plain http is offered only for this machine, e.g. ${LOCAL_TRIAL_CALLBACK} for a local trial`;
    case 'name-taken':
      return 'choose another name';
    case 'env-label-needs-v1.1':
      return 'type the "Dev environment label" from Twitter Developer (or press Ctrl-C and choose X\'s current API, activity)';
    default:
      return problemFix(p);
  }
}

const asCheck = (rule: (v: string) => Problem | undefined) => (v: string): true | string => {
  const p = rule(v);
  return p ? problemLine(p, promptFix(p)) : true;
};

export async function runInteractionWizard(deps: WizardDeps, input: WizardInput): Promise<WizardResult> {
  const { prompter } = deps;
  const cur = input.current?.values;
  const { checked, refs } = input.preset;
  const given = (label: string, value: string, flag: string) => prompter.note(`${label}: ${value} (from ${flag})`);

  prompter.note(
    input.current
      ? `Identifier: ${input.identifier} (cannot be changed)`
      : `Identifier: ${input.identifier} (assigned by omni)`,
  );

  let name: string;
  if (checked.name !== undefined) {
    name = checked.name;
    given(FIELD_LABELS.name, name, '--name');
  } else {
    for (;;) {
      name = (await prompter.input({ message: FIELD_LABELS.name, ...(cur ? { default: cur.name } : {}), validate: asCheck(nameRule) })).trim();
      const taken = await deps.nameTaken(name);
      if (!taken) break;
      prompter.note(problemLine(taken, promptFix(taken)));
    }
  }

  let channel: Channel;
  if (checked.channel !== undefined) {
    channel = checked.channel;
    given(FIELD_LABELS.channel, CHANNELS[channel].label, '--channel');
  } else {
    const choices: Choice<Channel>[] = (Object.keys(CHANNELS) as Channel[]).map((c) => ({ name: CHANNELS[c].label, value: c, description: c }));
    channel = await prompter.select<Channel>({
      message: FIELD_LABELS.channel,
      choices,
      ...(cur && isChannel(cur.channel) ? { default: cur.channel } : {}),
    });
  }

  let api: ApiGeneration;
  if (checked.api !== undefined) {
    api = checked.api;
    given(FIELD_LABELS.api, API_GENERATIONS[api].label, '--api');
  } else {
    const choices: Choice<ApiGeneration>[] = (Object.keys(API_GENERATIONS) as ApiGeneration[]).map((a) => ({ name: API_GENERATIONS[a].label, value: a, description: `${a}: needs ${API_GENERATIONS[a].needs}` }));
    api = await prompter.select<ApiGeneration>({
      message: FIELD_LABELS.api,
      choices,
      default: cur && isApiGeneration(cur.api) ? cur.api : DEFAULT_API,
    });
  }

  const unit = refs.unit ?? (await pickCatalog(deps, 'unit', FIELD_LABELS.unit, cur?.unit ?? undefined));
  if (refs.unit) given(FIELD_LABELS.unit, refs.unit.name, '--unit');
  const group = refs.group ?? (await pickCatalog(deps, 'group', FIELD_LABELS.group, cur?.group ?? undefined));
  if (refs.group) given(FIELD_LABELS.group, refs.group.name, '--group');

  let activity: InteractionValues['activity'];
  if (refs.activity) {
    activity = refs.activity;
    given(FIELD_LABELS.activity, activity.name, '--activity');
  } else {
    const row = await pickCatalogRow(deps, 'activity', FIELD_LABELS.activity, cur?.activity ?? undefined);
    activity = { id: row.id, name: row.name, portfolio: row.portfolio_name ?? null };
  }

  let contactOrigin: CatalogRef;
  if (refs.contactOrigin) {
    contactOrigin = refs.contactOrigin;
    given(FIELD_LABELS.contactOrigin, contactOrigin.name, '--origin');
  } else {
    // New interactions default to the channel's usual origin (Twitter for Twitter DMs).
    const origins = await deps.catalogs.list('origin');
    const usual = origins.find((o) => o.name === CHANNELS[channel].defaultOrigin);
    const dflt = cur?.contactOrigin ?? (usual ? { id: usual.id, name: usual.name } : undefined);
    contactOrigin = await pickCatalog(deps, 'origin', FIELD_LABELS.contactOrigin, dflt, origins);
  }

  let helperInterception: boolean;
  if (checked.helper !== undefined) {
    helperInterception = checked.helper;
    given(FIELD_LABELS.helperInterception, helperInterception ? 'yes' : 'no', checked.helper ? '--helper' : '--no-helper');
  } else {
    helperInterception = await prompter.confirm({ message: FIELD_LABELS.helperInterception, default: cur?.helperInterception ?? false });
  }

  let devEnvironment: string;
  if (checked.devEnvironment !== undefined) {
    devEnvironment = checked.devEnvironment;
    given(FIELD_LABELS.devEnvironment, devEnvironment || '(none)', '--env-label');
  } else if (api !== 'v1.1') {
    // Only the premium v1.1 API has dev environments: not asked; a label kept from before stays.
    devEnvironment = cur?.devEnvironment ?? '';
  } else {
    devEnvironment = (
      await prompter.input({
        message: `${FIELD_LABELS.devEnvironment} (the "Dev environment label" in Twitter Developer)`,
        ...(cur?.devEnvironment ? { default: cur.devEnvironment } : {}),
        validate: asCheck((v) => devEnvironmentRule('v1.1', v)),
      })
    ).trim();
  }

  const secrets: Partial<Secrets> = {};
  for (const f of SECRET_FIELDS) {
    const preset = input.presetSecrets.values[f];
    if (preset !== undefined) {
      secrets[f] = preset;
      given(FIELD_LABELS[f], maskSecret(preset), input.presetSecrets.sources[f] ?? 'the environment');
      continue;
    }
    const keep = input.current?.secrets[f];
    const answer = (
      await prompter.password({
        message: keep !== undefined ? `${FIELD_LABELS[f]} (empty keeps ${maskSecret(keep)})` : FIELD_LABELS[f],
        validate: (v) => (keep !== undefined && v.trim() === '' ? true : asCheck((x) => secretRule(f, x))(v)),
      })
    ).trim();
    if (answer !== '') secrets[f] = answer;
  }

  let callbackUrl: string;
  let allowHttp = input.allowHttp;
  if (checked.callbackUrl !== undefined) {
    callbackUrl = checked.callbackUrl;
    given(FIELD_LABELS.callbackUrl, callbackUrl, '--callback-url');
  } else {
    for (;;) {
      const answer = await prompter.input({
        message: `${FIELD_LABELS.callbackUrl} (public https base URL of the listener; a local trial: ${LOCAL_TRIAL_CALLBACK})`,
        ...(cur ? { default: cur.callbackUrl } : {}),
        // The current URL stays acceptable on edit even if it is http (saved earlier with --allow-http);
        // an http URL on this machine is asked about below instead of refused.
        validate: (v) => {
          if (cur && v.trim() === cur.callbackUrl) return true;
          const p = callbackUrlRule(v, allowHttp);
          if (p?.code === 'http-needs-allow-http' && isLoopbackUrl(v) && !callbackUrlRule(v, true)) return true;
          return p ? problemLine(p, promptFix(p)) : true;
        },
      });
      if (cur && answer.trim() === cur.callbackUrl) {
        callbackUrl = cur.callbackUrl;
        break;
      }
      if (callbackUrlRule(answer, allowHttp)?.code === 'http-needs-allow-http') {
        const host = new URL(answer.trim()).host;
        const yes = await prompter.confirm({
          message: `Allow plain http for ${host}? (fine for a local trial; Twitter needs a public https URL to deliver DMs)`,
          default: true,
        });
        if (!yes) {
          prompter.note('then type an https URL');
          continue;
        }
        allowHttp = true;
      }
      callbackUrl = normalizeCallbackUrl(answer);
      break;
    }
  }

  // Not asked (it is off unless wanted): --silence-alert sets it, an edit keeps the current one.
  const silenceAlert = checked.silenceAlert !== undefined ? checked.silenceAlert : cur?.silenceAlert;
  if (checked.silenceAlert !== undefined) given(FIELD_LABELS.silenceAlert, checked.silenceAlert === null ? 'off' : formatSilence(checked.silenceAlert), '--silence-alert');

  return {
    values: { name, channel, api, unit, group, activity, contactOrigin, helperInterception, devEnvironment, callbackUrl, silenceAlert },
    secrets,
    allowHttp,
  };
}

function catalogLabel(kind: CatalogKind, row: CatalogRow): string {
  return kind === 'activity' ? `${row.portfolio_name ?? '?'} › ${row.name}` : row.name;
}

async function pickCatalog(deps: WizardDeps, kind: CatalogKind, message: string, dflt?: CatalogRef, rows?: CatalogRow[]): Promise<CatalogRef> {
  const row = await pickCatalogRow(deps, kind, message, dflt, rows);
  return { id: row.id, name: row.name };
}

/**
 * A select over a catalog that also offers "Create new…": it asks the name (and for an activity
 * its portfolio, itself picked or created), creates the entry with its audit record, and uses it.
 */
async function pickCatalogRow(deps: WizardDeps, kind: CatalogKind, message: string, dflt?: CatalogRef, known?: CatalogRow[]): Promise<CatalogRow> {
  const { prompter } = deps;
  let rows = known ?? (await deps.catalogs.list(kind));
  for (;;) {
    // Activities are listed by portfolio, so the same activity name in two portfolios stays tellable apart.
    const sorted = kind === 'activity'
      ? [...rows].sort((a, b) => (a.portfolio_name ?? '').localeCompare(b.portfolio_name ?? '') || a.name.localeCompare(b.name))
      : rows;
    const choices: Choice<Picked>[] = [
      ...sorted.map((r) => ({ name: catalogLabel(kind, r), value: r.id as Picked })),
      { name: 'Create new…', value: CREATE, description: `add a new ${kind === 'origin' ? 'contact origin' : kind} and use it` },
    ];
    const picked = await prompter.select<Picked>({
      message,
      choices,
      ...(dflt && rows.some((r) => r.id === dflt.id) ? { default: dflt.id } : {}),
    });
    if (picked !== CREATE) return rows.find((r) => r.id === picked)!;

    const what = kind === 'origin' ? 'contact origin' : kind;
    const name = (
      await prompter.input({
        message: `Name of the new ${what}`,
        validate: (v) => {
          const p = catalogNameRule(kind, v);
          if (!p) return true;
          const fix = catalogProblemFix(p);
          return fix ? `${catalogProblemSentence(p)}; ${fix}` : catalogProblemSentence(p);
        },
      })
    ).trim();
    const portfolio = kind === 'activity' ? await pickCatalog(deps, 'portfolio', `Portfolio of the activity '${name}'`) : undefined;
    try {
      const created = await deps.catalogs.create(kind, name, portfolio);
      prompter.note(`✓ created ${what} ${created.id} '${created.name}'${portfolio ? ` in portfolio '${portfolio.name}'` : ''}`);
      return created;
    } catch (err) {
      // A taken name is the user's to fix: say so and offer the list again (now with that entry).
      if ((err as { exitCode?: number }).exitCode !== 2) throw err;
      prompter.note(`${(err as Error).message}; pick it from the list or choose another name`);
      rows = await deps.catalogs.list(kind);
    }
  }
}
