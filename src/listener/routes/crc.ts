// GET /webhooks/twitter/<id>?crc_token=…: Twitter's challenge, answered with the HMAC of the token.
// Only tokens shaped like Twitter's are signed (src/twitter/crc.ts): no signing oracle.
import { crcTokenRefusal, PROBE_USER_AGENT } from '../../twitter/crc.js';
import { crcResponseToken } from '../../twitter/signature.js';
import { CRC_REFUSALS, type CrcRefusal } from '../metrics.js';
import { Refusal } from '../refusal.js';
import { send, type WebhookRoute } from './deps.js';

export const crcRoute: WebhookRoute = {
  async handle(d, r) {
    const found = d.interaction(r.rawId);
    r.row = found instanceof Promise ? await found : found;
    const row = r.row;
    if (!row) return new Refusal(404, 'unknown_interaction', `no interaction ${r.rawId}`);
    const token = new URLSearchParams(r.query).get('crc_token');
    const refusal = crcTokenRefusal(token);
    if (refusal) return new Refusal(400, refusal.reason, refusal.message);
    send(d, r.res, 200, { response_token: crcResponseToken(d.apiSecret(row), token!) });
    // Answered first, recorded after: Twitter's 3 s budget is for the answer, not our bookkeeping.
    d.metrics.crcAnswered();
    d.log.crc({ interaction: { id: row.id, name: row.name }, status: 200, remote: r.remote });
    // omni doctor's own probe proves the route works but is no sign of life from Twitter.
    if (r.req.headers['user-agent'] !== PROBE_USER_AGENT) {
      d.events.record({ interactionId: row.id, at: d.clock().toISOString(), kind: 'crc_answered', result: 'answered', remote: r.remote ?? null });
    }
    return undefined;
  },

  refuse(d, r, refusal) {
    send(d, r.res, refusal.status, { error: refusal.message });
    if ((CRC_REFUSALS as readonly string[]).includes(refusal.code)) d.metrics.crcRefused(refusal.code as CrcRefusal);
    const row = r.row;
    d.log.crc({ interaction: row ? { id: row.id, name: row.name } : null, interactionId: r.rawId, status: refusal.status, reason: refusal.message, remote: r.remote });
    // Recorded for a known interaction only: refusals to made-up ids would let anyone fill the table.
    if (row) {
      d.events.record({ interactionId: row.id, at: d.clock().toISOString(), kind: 'crc_refused', result: refusal.code, detail: refusal.message, remote: r.remote ?? null });
    }
  },
};
