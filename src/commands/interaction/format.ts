// How interactions read on a terminal: the form's fields as label/value rows (show, the wizard's
// summary) and change lines (edit). Secrets appear masked here; JSON lives in src/interactions/model.ts.
import { maskSecret } from '../../secrets.js';
import { formatSilence,
  FIELD_LABELS,
  apiLabel,
  channelLabel,
  webhookUrl,
  type InteractionValues,
  type SecretField,
  type Secrets,
} from '../../interactions/model.js';
import {
  type FieldChange,
} from '../../interactions/changes.js';

export type Row = [label: string, value: string];

const refText = (r: { id: number; name: string } | null) => (r ? `${r.name} (${r.id})` : '-');

/** The form's fields in the form's order. `secrets` values are shown as given: mask them first. */
export function formRows(id: number, values: InteractionValues, secrets: Partial<Record<SecretField, string>>, idNote = ''): Row[] {
  const secret = (f: SecretField) => secrets[f] ?? '-';
  return [
    ['Identifier', `${id}${idNote}`],
    [FIELD_LABELS.name, values.name],
    [FIELD_LABELS.channel, channelLabel(values.channel)],
    [FIELD_LABELS.api, apiLabel(values.api)],
    [FIELD_LABELS.unit, refText(values.unit)],
    [FIELD_LABELS.group, refText(values.group)],
    [FIELD_LABELS.activity, values.activity ? `${refText(values.activity)}${values.activity.portfolio ? `, portfolio ${values.activity.portfolio}` : ''}` : '-'],
    [FIELD_LABELS.contactOrigin, refText(values.contactOrigin)],
    [FIELD_LABELS.helperInterception, values.helperInterception ? 'yes' : 'no'],
    [FIELD_LABELS.devEnvironment, values.devEnvironment || (values.api === 'v1.1' ? '-' : '- (only v1.1 uses one)')],
    [FIELD_LABELS.apiKey, secret('apiKey')],
    [FIELD_LABELS.apiSecretKey, secret('apiSecretKey')],
    [FIELD_LABELS.accessToken, secret('accessToken')],
    [FIELD_LABELS.accessTokenSecret, secret('accessTokenSecret')],
    [FIELD_LABELS.callbackUrl, values.callbackUrl],
    ['Webhook URL', webhookUrl(values.callbackUrl, id)],
    [FIELD_LABELS.silenceAlert, values.silenceAlert == null ? 'off' : `after ${formatSilence(values.silenceAlert)} without a DM`],
  ];
}

export function maskAll(secrets: Partial<Secrets>): Partial<Secrets> {
  const out: Partial<Secrets> = {};
  for (const [k, v] of Object.entries(secrets) as [SecretField, string][]) out[k] = maskSecret(v);
  return out;
}

export function alignRows(rows: Row[], indent = ''): string[] {
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, v]) => `${indent}${l.padEnd(width)}  ${v}`);
}

function quote(v: string | boolean | null | undefined): string {
  if (v === null || v === undefined) return '(none)';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return `'${v}'`;
}

/** "Name: 'A' → 'B'", or "API key: changed" for secrets. */
export function changeLines(changes: FieldChange[]): string[] {
  return changes.map((c) => (c.secret ? `${c.label}: changed` : `${c.label}: ${quote(c.from)} → ${quote(c.to)}`));
}
