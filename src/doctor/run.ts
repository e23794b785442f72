// Runs the checks: `database` first (nothing else can be checked without it), then the global
// checks and the interactions concurrently, a few interactions at a time so a large installation
// does not burst Twitter's rate limits. Within one interaction a check starts as soon as the checks
// it requires are done, and facts shared by several checks (verify_credentials, the environments)
// are fetched once. Every check is bounded in time: the doctor never hangs. It changes nothing.
import type { Db } from '../db/connection.js';
import { findInteraction, listInteractions, type InteractionView } from '../db/interactions.js';
import { getParameters } from '../db/parameters.js';
import { decryptSecrets, webhookUrl, type Secrets } from '../interactions/model.js';
import type { SecretBox } from '../secrets.js';
import { GLOBAL_CHECKS, databaseCheck } from './global-checks.js';
import { INTERACTION_CHECKS } from './interaction-checks.js';
import { openXGateway } from '../webhooks/x-service.js';
import {
  CheckSkipped,
  DEFAULT_TIMEOUTS,
  fail,
  type CheckDef,
  type CheckResult,
  type CheckScope,
  type DoctorDeps,
  type DoctorReport,
  type DoctorTimeouts,
  type GlobalCheck,
  type GlobalContext,
  type InteractionCheck,
  type InteractionContext,
  type InteractionFacts,
  type Outcome,
} from './model.js';

export interface DoctorOptions {
  /** An interaction id or name; all live interactions when absent. */
  interaction?: string;
  /** Skip the checks that call Twitter, the Helper or the listener. */
  offline?: boolean;
  /** Interactions checked at the same time (default 4). */
  concurrency?: number;
  timeouts?: Partial<DoctorTimeouts>;
  /** The check lists; default GLOBAL_CHECKS and INTERACTION_CHECKS. */
  checks?: { global?: readonly GlobalCheck[]; interaction?: readonly InteractionCheck[] };
}

const REACH_LABEL = { twitter: 'calls Twitter', helper: 'calls the Helper', listener: 'calls the callback URL' } as const;

type Where = { scope: CheckScope; interactionId?: number };

function result(def: Pick<CheckDef<unknown>, 'id' | 'title'>, where: Where, o: Outcome): CheckResult {
  return {
    id: def.id,
    scope: where.scope,
    ...(where.interactionId !== undefined ? { interactionId: where.interactionId } : {}),
    status: o.status,
    title: def.title,
    detail: o.detail,
    fix: o.status === 'fail' || o.status === 'warn' ? (o.fix ?? null) : null,
  };
}

/** Runs one check under its time limit; an exception is a failed check, not a crashed doctor. */
async function guarded<C>(def: CheckDef<C>, ctx: C, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve(fail(`no result within ${timeoutMs / 1000} s`, 'run it again; if it keeps timing out, check the network (OMNI_TWITTER_TIMEOUT_MS bounds each Twitter call)')), timeoutMs);
  });
  try {
    return await Promise.race([def.run(ctx), timeout]);
  } catch (err) {
    if (err instanceof CheckSkipped) return { status: 'skip', detail: err.message };
    const hint = (err as { hint?: unknown }).hint;
    return fail(`${(err as Error)?.message ?? String(err)}`, typeof hint === 'string' ? hint : 'this looks like a bug in omni; report it with the output of: omni --debug doctor');
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a list of checks as a dependency graph; results come back in list order. */
async function runChecks<C>(defs: readonly CheckDef<C>[], ctx: C, where: Where, offline: boolean, timeoutMs: number): Promise<CheckResult[]> {
  const done = new Map<string, Promise<CheckResult>>();
  for (const def of defs.filter((d) => !d.appliesTo || d.appliesTo(ctx))) {
    const prerequisites = (def.requires ?? []).map((id) => {
      const p = done.get(id);
      if (!p) throw new Error(`doctor check '${def.id}' requires '${id}', which is not listed before it`);
      return p;
    });
    done.set(
      def.id,
      (async () => {
        const blocked = (await Promise.all(prerequisites)).find((r) => r.status === 'fail' || r.status === 'skip');
        if (blocked) return result(def, where, { status: 'skip', detail: `needs '${blocked.id}' to pass first` });
        if (offline && def.reaches) return result(def, where, { status: 'skip', detail: `--offline: ${REACH_LABEL[def.reaches]}` });
        return result(def, where, await guarded(def, ctx, timeoutMs));
      })(),
    );
  }
  return Promise.all(done.values());
}

/** Memoises a promise-returning function: one call to Twitter however many checks ask. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

function interactionFacts(deps: DoctorDeps, row: InteractionView, secretKey: () => Promise<SecretBox | null>): InteractionFacts {
  const secrets = once(async (): Promise<Secrets> => {
    let box: SecretBox | null;
    try {
      box = await secretKey();
    } catch {
      throw new CheckSkipped("the secret key cannot be loaded (see 'secret-key')");
    }
    if (!box) throw new CheckSkipped("there is no secret key (see 'secret-key')");
    try {
      return decryptSecrets(row, box);
    } catch {
      throw new CheckSkipped("the stored credentials cannot be decrypted (see 'secret-key')");
    }
  });
  const gateway = once(async () => deps.twitter(await secrets(), { editCommand: `omni interaction edit ${row.id}` }));
  const x = once(async () => {
    await secrets(); // skips with the reason when the key or the credentials cannot be had
    const box = (await secretKey())!;
    // The doctor only reads with the app bearer: no token is refreshed, nothing is written.
    return openXGateway({ db: deps.db, secrets: async () => box, twitter: deps.twitter, now: deps.now, actor: 'omni doctor', ...(deps.env ? { env: deps.env } : {}) }, row);
  });
  return {
    x,
    xWebhooks: once(async () => (await x()).listWebhooks()),
    secrets,
    gateway,
    account: once(async () => (await gateway()).verifyCredentials()),
    environments: once(async () => (await gateway()).listEnvironments()),
    subscribed: once(async () => (await gateway()).isSubscribed(row.dev_environment)),
  };
}

/** Runs `work` over `items` with at most `limit` in flight; results keep the items' order. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Checks every prerequisite and reports each with its fix. Throws only when the named
 * interaction does not exist (a usage problem, not a finding).
 */
export async function runDoctor(deps: DoctorDeps, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const timeouts: DoctorTimeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const offline = Boolean(opts.offline);
  const globalChecks = opts.checks?.global ?? GLOBAL_CHECKS;
  const interactionChecks = opts.checks?.interaction ?? INTERACTION_CHECKS;
  const global: Where = { scope: 'global' };

  let db: Db;
  try {
    db = await deps.db();
  } catch (err) {
    const hint = (err as { hint?: unknown }).hint;
    const checks = [
      result(databaseCheck, global, fail((err as Error).message, typeof hint === 'string' ? hint : 'check --db / OMNI_DB and the permissions of the file and its directory')),
      ...globalChecks.map((def) => result(def, global, { status: 'skip', detail: `needs '${databaseCheck.id}' to pass first` })),
    ];
    return { ok: false, checks };
  }
  const dbResult = result(databaseCheck, global, await guarded(databaseCheck, db, timeouts.checkMs));

  const kysely = db.kysely;
  const selected = opts.interaction !== undefined;
  const interactions = selected ? [await findInteraction(kysely, opts.interaction!)] : await listInteractions(kysely);
  const params = await getParameters(kysely);
  const secretKey = once(deps.secretKey);

  const globalCtx: GlobalContext = { db, deps, params, interactions, selected, secretKey };
  const [globalResults, perInteraction] = await Promise.all([
    runChecks(globalChecks, globalCtx, global, offline, timeouts.checkMs),
    pool(interactions, Math.max(1, opts.concurrency ?? 4), (row) => {
      const ctx: InteractionContext = {
        db,
        deps,
        row,
        webhookUrl: webhookUrl(row.callback_url, row.id),
        params,
        facts: interactionFacts(deps, row, secretKey),
        offline,
        timeouts,
      };
      return runChecks(interactionChecks, ctx, { scope: 'interaction', interactionId: row.id }, offline, timeouts.checkMs);
    }),
  ]);
  const checks = [dbResult, ...globalResults, ...perInteraction.flat()];
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}
