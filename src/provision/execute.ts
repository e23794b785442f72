// Carries out a plan inside one transaction, every change through its entity's write path (with
// its audit record): either the whole file takes effect or nothing does.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { findCatalogEntry, type CatalogKind } from '../db/catalogs.js';
import { paramDef } from '../parameters.js';
import type { CatalogRef, Channel, InteractionValues } from '../interactions/model.js';
import { InteractionRefused } from '../interactions/problems.js';
import { createInteraction, deleteInteraction, updateInteraction } from '../interactions/write.js';
import { createCatalogEntry } from '../catalogs/write.js';
import { setParameterValue, unsetParameterValue } from '../parameter-write.js';
import type { SecretBox } from '../secrets.js';
import { DocumentErrors, type DesiredInteraction } from './document.js';
import { fileError, type Plan, type ResolvedInteraction } from './plan.js';
import { restoreXChatIdentity } from '../xchat/setup.js';

export interface ExecuteDeps {
  now: string;
  actor: string;
  box: () => SecretBox;
  /** Names the file in an error raised while applying (the plan checked first; the database may have changed since). */
  source?: string;
}

const VIA = { via: 'apply' } as const;

/** The write path's draft of a file's interaction: the catalog names the plan resolved, looked up to ids. */
async function draftValues(trx: Kysely<Database>, it: DesiredInteraction, r: ResolvedInteraction): Promise<InteractionValues> {
  const ref = (row: { id: number; name: string }): CatalogRef => ({ id: row.id, name: row.name });
  const portfolio = await findCatalogEntry(trx, 'portfolio', r.activity.portfolio);
  const activity = await findCatalogEntry(trx, 'activity', r.activity.name, portfolio.id);
  return {
    name: it.name,
    channel: it.channel as Channel,
    unit: ref(await findCatalogEntry(trx, 'unit', r.unit)),
    group: ref(await findCatalogEntry(trx, 'group', r.group)),
    activity: { ...ref(activity), portfolio: portfolio.name },
    contactOrigin: ref(await findCatalogEntry(trx, 'origin', r.contactOrigin)),
    helperInterception: it.helperInterception,
    api: r.api,
    devEnvironment: r.devEnvironment,
    callbackUrl: r.callbackUrl,
    silenceAlert: r.silenceAlert,
  };
}

/** Applies the plan; returns ids of created/updated interactions (for --register-webhooks). */
export async function executePlan(db: Kysely<Database>, plan: Plan, deps: ExecuteDeps): Promise<number[]> {
  const w = { now: deps.now, actor: deps.actor, auditExtra: VIA };
  return db.transaction().execute(async (trx) => {
    const touched: number[] = [];
    for (const item of plan.items) {
      switch (item.entity) {
        case 'unit':
        case 'group':
        case 'portfolio':
        case 'origin':
        case 'contract':
        case 'activity': {
          const kind: CatalogKind = item.entity;
          const portfolio = item.portfolio ? await findCatalogEntry(trx, 'portfolio', item.portfolio) : undefined;
          await createCatalogEntry(trx, kind, item.name, w, portfolio ? { id: portfolio.id, name: portfolio.name } : undefined);
          break;
        }
        case 'parameter': {
          const def = paramDef(Number(item.name))!;
          if (item.op === 'delete') await unsetParameterValue(trx, def, w);
          // The plan shows catalog values by name ("Portfolio / Activity" for activities); the write path looks them up.
          else await setParameterValue(trx, def, item.fields[0]!.to as string, w);
          break;
        }
        case 'interaction': {
          if (item.op === 'delete') {
            const row = plan.prune.find((r) => r.name === item.name)!;
            await deleteInteraction(trx, row.id, w);
            break;
          }
          const it = plan.desired.interactions.find((i) => i.name === item.name)!;
          const write = { ...w, box: deps.box(), allowHttp: it.allowHttp };
          try {
            const draft = { values: await draftValues(trx, it, plan.resolved.get(it.path)!), secrets: it.credentials };
            let id: number;
            if (item.op === 'create') {
              id = await createInteraction(trx, draft, write);
            } else {
              id = (await trx.selectFrom('interactions').select('id').where('name', '=', it.name).where('deleted_at', 'is', null).executeTakeFirstOrThrow()).id;
              await updateInteraction(trx, id, draft, write);
            }
            touched.push(id);
            if (item.xchat && it.xchat) {
              const refused = await restoreXChatIdentity(trx, id, it.xchat, { now: w.now, actor: w.actor, box: write.box, auditExtra: VIA });
              if (refused) throw new DocumentErrors([{ path: `${it.path}.xchat.keyBlob`, message: refused }], deps.source ?? 'the file');
            }
          } catch (err) {
            // Another process changed the database since the plan was made (e.g. took the name).
            if (err instanceof InteractionRefused) throw new DocumentErrors(err.problems.map((p) => fileError(it.path, p)), deps.source ?? 'the file');
            throw err;
          }
          break;
        }
      }
    }
    return touched;
  });
}

