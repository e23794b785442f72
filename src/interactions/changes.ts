// What an edit changes, field by field, for the audit trail and for the user: old → new for plain
// fields, secrets only as "set"/"changed" (their values never leave the secret box this way).
import {
  formatSilence,
  FIELD_LABELS,
  FORM_ORDER,
  SECRET_FIELDS,
  type FieldName,
  type InteractionValues,
  type SecretField,
  type Secrets,
} from './model.js';

/** One line of "what changed": old → new for plain fields; secrets only as changed. */
export interface FieldChange {
  field: FieldName;
  label: string;
  /** Display values; undefined for secrets, whose values are never shown or audited. */
  from?: string | boolean | null;
  to?: string | boolean | null;
  secret: boolean;
}

function displayValue(values: InteractionValues, field: keyof InteractionValues): string | boolean | null {
  const v = values[field] ?? null;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return formatSilence(v);
  return v.name;
}

function sameValue(a: InteractionValues, b: InteractionValues, field: keyof InteractionValues): boolean {
  const x = a[field] ?? null;
  const y = b[field] ?? null;
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return x === y;
  return x.id === y.id;
}

/**
 * What an edit changes, in the form's order. `before` undefined means a creation (every field is
 * "new"). `secretsGiven` are the secrets entered; they count as changed only when they differ from
 * `currentSecrets` (undefined on creation).
 */
export function interactionChanges(
  before: InteractionValues | undefined,
  after: InteractionValues,
  secretsGiven: Partial<Secrets>,
  currentSecrets?: Secrets,
): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const f of FORM_ORDER) {
    if ((SECRET_FIELDS as readonly string[]).includes(f)) {
      const s = f as SecretField;
      const v = secretsGiven[s];
      if (v !== undefined && (currentSecrets === undefined || currentSecrets[s] !== v)) {
        changes.push({ field: f, label: FIELD_LABELS[f], secret: true });
      }
      continue;
    }
    const p = f as keyof InteractionValues;
    if (before && sameValue(before, after, p)) continue;
    // An optional setting left off is no change worth a line on creation.
    if (!before && p === 'silenceAlert' && after.silenceAlert == null) continue;
    changes.push({
      field: f,
      label: FIELD_LABELS[f],
      from: before ? displayValue(before, p) : null,
      to: displayValue(after, p),
      secret: false,
    });
  }
  return changes;
}

/** The audit record's `changes`: values for a creation, {from, to} for an edit, secrets as "set"/"changed". */
export function auditChanges(changes: FieldChange[], action: 'create' | 'update'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of changes) {
    if (c.secret) out[c.field] = action === 'create' ? 'set' : 'changed';
    else out[c.field] = action === 'create' ? c.to : { from: c.from, to: c.to };
  }
  return out;
}
