// The numbered 4biz parameters omni knows (the 4biz parameter reference): name, what a
// value must look like, and what omni does with it. Values are stored as text in `parameters`.
// Everything here is pure: the catalog lookups a value may need are done by the caller.
import type { CatalogKind } from './db/catalogs.js';

export type ParamType =
  | { kind: 'yn' }
  | { kind: 'catalog'; catalog: CatalogKind }
  | { kind: 'integer'; what: string }
  /** `suffix`: how 4biz's Helper endpoint conventionally ends; anything else only warns. */
  | { kind: 'url'; suffix?: string }
  | { kind: 'text'; maxLength: number };

export interface ParamDef {
  number: number;
  name: string;
  type: ParamType;
  /** What omni does with the value ("stored, not acted on" when it is only stored). */
  use: string;
  acted: boolean;
  group: 'chat' | 'helper';
}

/** Twitter rejects DMs longer than this, and 453 is sent as a DM. */
export const DM_MAX_LENGTH = 10_000;

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
  { number: 441, group: 'helper', name: 'Helper conversation API', type: { kind: 'url', suffix: '/webhooks/rest/webhook' }, acted: true, use: 'when set, intercepted DMs go to this bot; empty: the built-in menu bot' },
  { number: 442, group: 'helper', name: 'Helper parameters API', type: { kind: 'url', suffix: '/conversations/' }, acted: false, use: 'stored, not acted on' },
  { number: 450, group: 'helper', name: 'Enable Helper for end users', type: { kind: 'yn' }, acted: true, use: 'global switch: interception needs 450 = Y and the interaction enabling it' },
  { number: 453, group: 'helper', name: 'Helper fallback message', type: { kind: 'text', maxLength: DM_MAX_LENGTH }, acted: true, use: 'sent when the bot has no answer or cannot be reached' },
];

export const PARAM_NUMBERS: readonly number[] = PARAMS.map((p) => p.number);

export function paramDef(number: number): ParamDef | undefined {
  return PARAMS.find((p) => p.number === number);
}

/** The definition for a number typed by a user, or undefined (the caller says which numbers exist). */
export function parseParamNumber(raw: string): ParamDef | undefined {
  const t = raw.trim();
  return /^\d+$/.test(t) ? paramDef(Number(t)) : undefined;
}

/** Parameter numbers whose value is an id of this catalog kind (so `rm` can refuse). */
export function paramsReferencing(kind: CatalogKind): number[] {
  return PARAMS.filter((p) => p.type.kind === 'catalog' && p.type.catalog === kind).map((p) => p.number);
}

/** What a typed value becomes: a value to store, a catalog entry to look up first, or a refusal. */
export type ParamCheck =
  | { status: 'ok'; value: string; warning?: string }
  | { status: 'lookup'; catalog: CatalogKind; ref: string }
  | { status: 'invalid'; message: string; hint: string };

/** A one-line description of the values a parameter takes, for help and error messages. */
export function describeValues(def: ParamDef): string {
  switch (def.type.kind) {
    case 'yn':
      return 'Y or N';
    case 'catalog':
      return `the id or name of an existing ${def.type.catalog === 'origin' ? 'contact origin' : def.type.catalog}`;
    case 'integer':
      return `a positive integer (${def.type.what})`;
    case 'url':
      return def.type.suffix ? `an http(s) URL ending in ${def.type.suffix}` : 'an http(s) URL';
    case 'text':
      return `non-empty text (at most ${def.type.maxLength} characters)`;
  }
}

/** Validates a typed value for `def` without touching the database. */
export function checkParamValue(def: ParamDef, raw: string): ParamCheck {
  const v = raw.trim();
  const invalid = (message: string, hint: string): ParamCheck => ({ status: 'invalid', message: `parameter ${def.number} (${def.name}): ${message}`, hint });
  // An empty value is never a value: say how to clear one instead of why '' does not parse.
  if (v === '') return invalid(`needs a value (${describeValues(def)})`, `to clear it: omni param unset ${def.number}`);
  const t = def.type;
  switch (t.kind) {
    case 'yn': {
      const up = v.toUpperCase();
      if (up === 'Y' || up === 'N') return { status: 'ok', value: up };
      return invalid(`'${raw}' is not Y or N`, `example: omni param set ${def.number} Y`);
    }
    case 'catalog':
      return { status: 'lookup', catalog: t.catalog, ref: v };
    case 'integer': {
      // Digits only: "1e3", "0x10", "+5" and "3.0" are all numbers to JavaScript but not ids.
      if (!/^\d+$/.test(v) || /^0+$/.test(v)) return invalid(`'${raw}' is not a positive integer ${t.what}`, `example: omni param set ${def.number} 12`);
      const n = Number(v);
      if (!Number.isSafeInteger(n)) return invalid(`'${raw}' is too large for a ${t.what}`, `ids go up to ${Number.MAX_SAFE_INTEGER}`);
      return { status: 'ok', value: String(n) };
    }
    case 'url': {
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        return invalid(`'${raw}' is not a URL`, `example: omni param set ${def.number} https://helper.example.com${t.suffix ?? '/'}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return invalid(`'${raw}' is not an http(s) URL`, `example: omni param set ${def.number} https://helper.example.com${t.suffix ?? '/'}`);
      }
      if (t.suffix && !url.pathname.endsWith(t.suffix)) {
        return { status: 'ok', value: v, warning: `parameter ${def.number} (${def.name}) usually ends in ${t.suffix}; '${v}' does not (stored anyway)` };
      }
      return { status: 'ok', value: v };
    }
    case 'text': {
      // Code points, not UTF-16 units: an emoji is one character to the person typing it.
      const length = [...v].length;
      if (length > t.maxLength) return invalid(`is ${length} characters long; at most ${t.maxLength} fit in a Direct Message`, 'shorten it');
      return { status: 'ok', value: v };
    }
  }
}
