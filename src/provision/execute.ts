// Carries out a plan inside one transaction, with an audit record per change: either the whole
// file takes effect or nothing does.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { addCatalogEntry, findCatalogEntry, type CatalogKind } from '../db/catalogs.js';
import { setParameter, unsetParameter } from '../db/parameters.js';
import { insertInteraction, softDeleteInteraction, updateInteraction } from '../db/interactions.js';
import { recordAudit } from '../db/audit.js';
import { paramDef } from '../parameters.js';
import { encryptSecrets } from '../interactions/model.js';
import type { SecretBox } from '../secrets.js';
import type { DesiredInteraction } from './document.js';
import type { Plan, PlanItem } from './plan.js';

export interface ExecuteDeps {
  now: string;
  actor: string;
  box: () => SecretBox;
}

async function activityId(trx: Kysely<Database>, label: string): Promise<number> {
  // Labels are "portfolio / activity" (see plan.ts), unambiguous by construction.
  const [portfolioName, activityName] = label.split(' / ') as [string, string];
  const portfolio = await findCatalogEntry(trx, 'portfolio', portfolioName);
  return (await findCatalogEntry(trx, 'activity', activityName, portfolio.id)).id;
}

async function storedParamValue(trx: Kysely<Database>, number: number, display: string): Promise<string> {
  const def = paramDef(number)!;
  if (def.type.kind !== 'catalog') return display;
  if (def.type.catalog === 'activity') return String(await activityId(trx, display));
  return String((await findCatalogEntry(trx, def.type.catalog, display)).id);
}

function auditChanges(item: PlanItem): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const f of item.fields) changes[f.field] = item.op === 'create' ? f.to : { from: f.from, to: f.to };
  for (const [f, state] of Object.entries(item.secrets ?? {})) if (state === 'changed') changes[f] = 'changed';
  return changes;
}

async function interactionColumns(trx: Kysely<Database>, it: DesiredInteraction, item: PlanItem) {
  const changed = new Set(item.fields.map((f) => f.field));
  const value = (field: string) => item.fields.find((f) => f.field === field)!.to as string;
  const cols: Record<string, unknown> = {};
  if (changed.has('channel')) cols.channel = it.channel;
  if (changed.has('unit')) cols.unit_id = (await findCatalogEntry(trx, 'unit', value('unit'))).id;
  if (changed.has('group')) cols.group_id = (await findCatalogEntry(trx, 'group', value('group'))).id;
  if (changed.has('activity')) cols.activity_id = await activityId(trx, value('activity'));
  if (changed.has('contactOrigin')) cols.contact_origin_id = (await findCatalogEntry(trx, 'origin', value('contactOrigin'))).id;
  if (changed.has('helperInterception')) cols.helper_interception = it.helperInterception ? 1 : 0;
  if (changed.has('devEnvironment')) cols.dev_environment = it.devEnvironment;
  if (changed.has('callbackUrl')) cols.callback_url = it.callbackUrl;
  return cols;
}

/** Applies the plan; returns ids of created/updated interactions (for --register-webhooks). */
export async function executePlan(db: Kysely<Database>, plan: Plan, deps: ExecuteDeps): Promise<number[]> {
  return db.transaction().execute(async (trx) => {
    const touched: number[] = [];
    const audit = (entity: string, entityId: string | number, action: string, changes: Record<string, unknown>) =>
      recordAudit(trx, { at: deps.now, actor: deps.actor, entity, entityId, action, changes: { ...changes, via: 'apply' } });
    for (const item of plan.items) {
      switch (item.entity) {
        case 'unit':
        case 'group':
        case 'portfolio':
        case 'origin':
        case 'contract':
        case 'activity': {
          const kind: CatalogKind = item.entity;
          const portfolioId = item.portfolio ? (await findCatalogEntry(trx, 'portfolio', item.portfolio)).id : undefined;
          const row = await addCatalogEntry(trx, kind, item.name, deps.now, portfolioId);
          await audit(kind, row.id, 'create', auditChanges(item));
          break;
        }
        case 'parameter': {
          const number = Number(item.name);
          if (item.op === 'delete') await unsetParameter(trx, number);
          else await setParameter(trx, number, await storedParamValue(trx, number, item.fields[0]!.to as string), deps.now);
          await audit('parameter', number, item.op === 'delete' ? 'unset' : 'set', auditChanges(item));
          break;
        }
        case 'interaction': {
          if (item.op === 'delete') {
            const row = plan.prune.find((r) => r.name === item.name)!;
            await softDeleteInteraction(trx, row.id, deps.now);
            await audit('interaction', row.id, 'delete', { name: row.name });
            break;
          }
          const it = plan.desired.interactions.find((i) => i.name === item.name)!;
          const cols = await interactionColumns(trx, it, item);
          const secrets = Object.fromEntries(Object.entries(it.credentials).filter(([f]) => item.secrets?.[f as keyof typeof item.secrets] === 'changed'));
          const enc = encryptSecrets(secrets, deps.box());
          if (item.op === 'create') {
            const row = await insertInteraction(trx, {
              name: it.name,
              channel: it.channel,
              helper_interception: it.helperInterception ? 1 : 0,
              dev_environment: it.devEnvironment,
              callback_url: it.callbackUrl,
              ...(cols as object),
              ...(enc as Record<'api_key_enc' | 'api_secret_key_enc' | 'access_token_enc' | 'access_token_secret_enc', string>),
              created_at: deps.now,
              updated_at: deps.now,
            });
            await audit('interaction', row.id, 'create', auditChanges(item));
            touched.push(row.id);
          } else {
            const existing = (await trx.selectFrom('interactions').select('id').where('name', '=', it.name).where('deleted_at', 'is', null).executeTakeFirstOrThrow()).id;
            await updateInteraction(trx, existing, { ...cols, ...enc, updated_at: deps.now });
            await audit('interaction', existing, 'update', auditChanges(item));
            touched.push(existing);
          }
          break;
        }
      }
    }
    return touched;
  });
}
