// The current state written in the apply file's format, so `omni export | omni apply -f - --dry-run`
// reports no changes. Secrets are left out unless asked for: absent credentials mean "keep".
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { listCatalog, type CatalogKind } from '../db/catalogs.js';
import { getParameters } from '../db/parameters.js';
import { listInteractions } from '../db/interactions.js';
import { PARAMS } from '../parameters.js';
import { decryptSecrets, formatSilence } from '../interactions/model.js';
import type { SecretBox } from '../secrets.js';
import { exportXChatIdentities } from '../xchat/store.js';

/** The catalogs the file lists flat, by name (portfolios carry their activities). */
type FlatKind = Exclude<CatalogKind, 'portfolio' | 'activity'>;

export async function exportState(db: Kysely<Database>, opts: { includeSecrets: boolean; box: () => SecretBox }) {
  const names = async (kind: FlatKind) => (await listCatalog(db, kind)).map((r) => r.name);
  const portfolios = await listCatalog(db, 'portfolio');
  const activities = await listCatalog(db, 'activity');
  const idToName = async (kind: FlatKind) => new Map((await listCatalog(db, kind)).map((r) => [String(r.id), r.name]));
  const catalogNames = { unit: await idToName('unit'), group: await idToName('group'), origin: await idToName('origin'), contract: await idToName('contract') };

  const stored = await getParameters(db);
  const parameters: Record<string, string | number> = {};
  for (const def of PARAMS) {
    const v = stored.get(def.number);
    if (v === undefined) continue;
    if (def.type.kind !== 'catalog') parameters[def.number] = v;
    else if (def.type.catalog === 'activity') {
      const a = activities.find((x) => String(x.id) === v);
      parameters[def.number] = a ? `${a.portfolio_name} / ${a.name}` : Number(v);
    } else {
      parameters[def.number] = catalogNames[def.type.catalog as keyof typeof catalogNames]?.get(v) ?? Number(v);
    }
  }

  const xchat = opts.includeSecrets ? await exportXChatIdentities(db, opts.box()) : new Map<number, Record<string, string>>();
  const interactions = (await listInteractions(db)).map((i) => {
    // Always with its portfolio: an activity name is unique only within one.
    const activity = { name: i.activity_name, portfolio: i.portfolio_name };
    const out: Record<string, unknown> = {
      name: i.name,
      channel: i.channel,
      api: i.api,
      unit: i.unit_name,
      group: i.group_name,
      activity,
      contactOrigin: i.contact_origin_name,
      helperInterception: i.helper_interception === 1,
      callbackUrl: i.callback_url,
    };
    // Only v1.1 uses a label; one kept from before a switch is exported too, so apply changes nothing.
    if (i.dev_environment !== '') out.devEnvironment = i.dev_environment;
    if (i.callback_url.startsWith('http:')) out.allowHttp = true;
    if (i.silence_alert_seconds != null) out.silenceAlert = formatSilence(i.silence_alert_seconds);
    if (opts.includeSecrets) out.credentials = decryptSecrets(i, opts.box());
    const keys = xchat.get(i.id);
    if (keys) out.xchat = keys;
    return out;
  });

  return {
    version: 1,
    units: await names('unit'),
    groups: await names('group'),
    portfolios: portfolios.map((p) => ({ name: p.name, activities: activities.filter((a) => a.portfolio_id === p.id).map((a) => a.name) })),
    contactOrigins: await names('origin'),
    contracts: await names('contract'),
    parameters,
    interactions,
  };
}
