// What a ticket opened from a DM is stamped with: the interaction's own defaults, else the
// numbered parameters (390 unit, 317 activity, 315 origin, 118 contract), and its subject. Used by
// openTicket (open.ts), whoever opens it: the intake or the Helper chatbot's hand-off.
import type { IntakeInteraction } from '../db/intake.js';

export interface TicketDefaults {
  unitId: number | null;
  groupId: number | null;
  activityId: number | null;
  contactOriginId: number | null;
  contractId: number | null;
}

export function ticketDefaults(i: Pick<IntakeInteraction, 'unit_id' | 'group_id' | 'activity_id' | 'contact_origin_id'>, params: Map<number, string>): TicketDefaults {
  const param = (n: number) => {
    const v = params.get(n);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  };
  return {
    unitId: i.unit_id ?? param(390),
    groupId: i.group_id,
    activityId: i.activity_id ?? param(317),
    contactOriginId: i.contact_origin_id ?? param(315),
    contractId: param(118),
  };
}

export const SUBJECT_LENGTH = 80;

/** The first 80 characters (code points, so an emoji is never cut in half) of the text on one line; '' when blank. */
export function subjectFromText(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return Array.from(oneLine).slice(0, SUBJECT_LENGTH).join('');
}
