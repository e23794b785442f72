// `omni audit`: reads the audit trail. Changes are stored as JSON objects; a value of the shape
// {from, to} is an edit, anything else (a name, "changed" for a secret) is shown as it is.
import type { Context } from '../../cli/context.js';
import { auditEntryJson, listAudit, type AuditEntryJson as AuditView } from '../../db/audit.js';
import { parsePositiveInt } from '../../cli/flags.js';
import { printJson, printTable } from '../../cli/output.js';

function show(v: unknown): string {
  if (v === null || v === undefined) return '-';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** An edit's null end means "not set" (a parameter unset, a field cleared). */
function edge(v: unknown): string {
  return v === null || v === undefined ? '(none)' : show(v);
}

function isEdit(v: unknown): v is { from: unknown; to: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'from' in v && 'to' in v && Object.keys(v).length === 2;
}

/** One line: `name: Old → New, helper: changed`. */
export function summarizeChanges(changes: unknown): string {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) return show(changes);
  return Object.entries(changes)
    .map(([k, v]) => (isEdit(v) ? `${k}: ${edge(v.from)} → ${edge(v.to)}` : `${k}: ${show(v)}`))
    .join(', ');
}

export async function auditAction(ctx: Context, _args: [], opts: { entity?: string; id?: string; limit: string; json?: boolean }): Promise<void> {
  const limit = parsePositiveInt(opts.limit, '--limit', 'omni audit --limit 20');
  const rows = await listAudit((await ctx.db()).kysely, {
    ...(opts.entity ? { entity: opts.entity } : {}),
    ...(opts.id !== undefined ? { entityId: opts.id.trim() } : {}),
    limit,
  });
  const views = rows.map(auditEntryJson);
  if (opts.json) return printJson(ctx, views);
  printTable(
    ctx,
    [
      // Seconds are enough to read; --json keeps the exact stored timestamp.
      { header: 'time', value: (v: AuditView) => v.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') },
      { header: 'actor', value: (v: AuditView) => v.actor },
      { header: 'entity', value: (v: AuditView) => v.entity },
      { header: 'id', value: (v: AuditView) => v.entityId },
      { header: 'action', value: (v: AuditView) => v.action },
      { header: 'changes', value: (v: AuditView) => summarizeChanges(v.changes) },
    ],
    views,
    opts.entity || opts.id !== undefined ? 'no audit records match' : 'no audit records yet; every change made with omni will appear here',
  );
}
