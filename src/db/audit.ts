// The audit trail: who changed which interaction, catalog entry or parameter, and what changed.
// Callers pass changes already stripped of secret values (secrets appear only as "changed").
import type { Kysely } from 'kysely';
import type { AuditEntry, Database } from './schema.js';

export interface AuditRecord {
  at: string;
  actor: string;
  entity: string;
  entityId: string | number;
  action: string;
  changes: Record<string, unknown>;
}

export async function recordAudit(db: Kysely<Database>, rec: AuditRecord): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at: rec.at,
      actor: rec.actor,
      entity: rec.entity,
      entity_id: String(rec.entityId),
      action: rec.action,
      changes: JSON.stringify(rec.changes),
    })
    .execute();
}

export interface AuditQuery {
  entity?: string;
  entityId?: string;
  limit?: number;
}

export async function listAudit(db: Kysely<Database>, q: AuditQuery = {}): Promise<AuditEntry[]> {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit ?? 100);
  if (q.entity) query = query.where('entity', '=', q.entity);
  if (q.entityId) query = query.where('entity_id', '=', q.entityId);
  return query.execute();
}

/** An audit entry as omni prints and exports it (`omni audit --json`, `omni requester export`). */
export interface AuditEntryJson {
  id: number;
  at: string;
  actor: string;
  entity: string;
  entityId: string;
  action: string;
  /** The stored JSON, parsed; text that is not JSON (written by hand or a future omni) is kept as it is. */
  changes: unknown;
}

export function auditEntryJson(e: AuditEntry): AuditEntryJson {
  let changes: unknown;
  try {
    changes = JSON.parse(e.changes);
  } catch {
    changes = e.changes;
  }
  return { id: e.id, at: e.at, actor: e.actor, entity: e.entity, entityId: e.entity_id, action: e.action, changes };
}
