// The numbered 4biz parameters omni knows (../shared/reference/4biz-parameters.md): name, what a
// value must look like, and what omni does with it. Values are stored as text in `parameters`.
import type { CatalogKind } from './db/catalogs.js';

export type ParamType =
  | { kind: 'yn' }
  | { kind: 'catalog'; catalog: CatalogKind }
  | { kind: 'integer'; what: string }
  | { kind: 'url' }
  | { kind: 'text' };

export interface ParamDef {
  number: number;
  name: string;
  type: ParamType;
  /** What omni does with the value ("not acted on" when it is only stored). */
  use: string;
  acted: boolean;
  group: 'chat' | 'helper';
}

export const PARAMS: readonly ParamDef[] = [
  { number: 118, group: 'chat', name: 'Default contract for opening tickets', type: { kind: 'catalog', catalog: 'contract' }, acted: true, use: 'contract stamped on every ticket omni opens' },
  { number: 315, group: 'chat', name: 'Contact origin of requests created by chat', type: { kind: 'catalog', catalog: 'origin' }, acted: true, use: 'fallback contact origin when an interaction names none' },
  { number: 316, group: 'chat', name: 'Activate chat', type: { kind: 'yn' }, acted: false, use: 'stored, not acted on' },
  { number: 317, group: 'chat', name: 'Activity of requests created by chat', type: { kind: 'catalog', catalog: 'activity' }, acted: true, use: 'fallback activity when an interaction names none' },
  { number: 388, group: 'chat', name: 'Default user (external request)', type: { kind: 'integer', what: 'user id' }, acted: false, use: 'stored, not acted on' },
  { number: 389, group: 'chat', name: 'Default group (external request)', type: { kind: 'catalog', catalog: 'group' }, acted: false, use: 'stored, not acted on' },
  { number: 390, group: 'chat', name: 'Default unit', type: { kind: 'catalog', catalog: 'unit' }, acted: true, use: 'fallback unit for requesters created from DMs' },
  { number: 447, group: 'chat', name: 'E-mail template for new chat message notices', type: { kind: 'integer', what: 'template id' }, acted: false, use: 'stored; omni sends no e-mail' },
  { number: 402, group: 'helper', name: 'Helper external URL', type: { kind: 'url' }, acted: false, use: 'shown by omni doctor; not called' },
  { number: 423, group: 'helper', name: 'Enable Helper in the internal (agent) area', type: { kind: 'yn' }, acted: false, use: 'stored, not acted on' },
  { number: 441, group: 'helper', name: 'Helper conversation API', type: { kind: 'url' }, acted: true, use: 'when set, intercepted DMs go to this bot; empty: the built-in menu bot' },
  { number: 442, group: 'helper', name: 'Helper parameters API', type: { kind: 'url' }, acted: false, use: 'stored, not acted on' },
  { number: 450, group: 'helper', name: 'Enable Helper for end users', type: { kind: 'yn' }, acted: true, use: 'global switch: interception needs 450 = Y and the interaction enabling it' },
  { number: 453, group: 'helper', name: 'Helper fallback message', type: { kind: 'text' }, acted: true, use: 'sent when the bot has no answer or cannot be reached' },
];

export function paramDef(number: number): ParamDef | undefined {
  return PARAMS.find((p) => p.number === number);
}

/** Parameter numbers whose value is an id of this catalog kind (so `rm` can refuse). */
export function paramsReferencing(kind: CatalogKind): number[] {
  return PARAMS.filter((p) => p.type.kind === 'catalog' && p.type.catalog === kind).map((p) => p.number);
}
