// POST /webhooks/twitter/<id>: a signed delivery. Verified and parsed here, written by the group
// committer (the intake pipeline on the writer thread), answered 200 only after its COMMIT. Every
// refusal is cheap: an unsigned request is refused before its body is read, a forged one after one
// HMAC, never the JSON parser.
import { parseDelivery } from '../../intake/parse.js';
import { accountMismatch } from '../../intake/pipeline.js';
import { intakeInteractionOf } from '../../db/intake.js';
import { SIGNATURE_HEADER, verifySignature } from '../../twitter/signature.js';
import { BodyTooLarge, declaredTooLarge, readBody } from '../body.js';
import type { DeliveryRejection } from '../metrics.js';
import { Refusal } from '../refusal.js';
import { send, sendAndClose, type WebhookRoute } from './deps.js';

export const deliveryRoute: WebhookRoute = {
  async handle(d, r) {
    r.row = d.interaction(r.rawId);
    const row = r.row;
    if (!row) return new Refusal(404, 'unknown_interaction', 'unknown or deleted interaction');
    if (declaredTooLarge(r.req, d.maxBodyBytes)) throw new BodyTooLarge(d.maxBodyBytes);
    const signature = r.req.headers[SIGNATURE_HEADER];
    // Refused before reading the body: an unsigned request costs nothing.
    if (typeof signature !== 'string' || signature === '') return new Refusal(401, 'missing_signature', `missing ${SIGNATURE_HEADER}`);

    const raw = await readBody(r.req, d.maxBodyBytes, d.bodyTimeoutMs);
    r.bodyRead = true;
    // Checked before any JSON parsing: a forged body costs one HMAC, never the parser.
    if (!verifySignature(d.apiSecret(row), raw, signature)) return new Refusal(401, 'bad_signature', 'bad signature');

    const body = raw.toString('utf8');
    const parsed = parseDelivery(body);
    const mismatch = accountMismatch(row, parsed);
    if (mismatch) return new Refusal(403, 'account_mismatch', mismatch);
    if (row.account_user_id === null && !d.warnedUnknownAccount.has(row.id)) {
      d.warnedUnknownAccount.add(row.id);
      d.log.warn(`interaction #${row.id} has no known account yet, so for_user_id is not checked`, {
        interaction: row.id,
        hint: `run: omni webhook register ${row.id}`,
      });
    }

    const results = await d.committer.submit({ interaction: intakeInteractionOf(row), body, at: d.clock().toISOString() });
    send(d, r.res, 200, { results });
    d.metrics.deliveryAccepted(results.map((e) => e.outcome));
    d.log.delivery({ interaction: { id: row.id, name: row.name }, status: 200, results, ms: performance.now() - r.started, remote: r.remote });
    return undefined;
  },

  refuse(d, r, refusal) {
    const body = { error: refusal.message };
    // A body not read to its end stays on the connection: answer and close it.
    if (r.bodyRead) send(d, r.res, refusal.status, body);
    else sendAndClose(d, r.req, r.res, refusal.status, body);
    d.metrics.deliveryRejected(refusal.code as DeliveryRejection);
    const row = r.row;
    d.log.delivery({
      interaction: row ? { id: row.id, name: row.name } : null,
      interactionId: r.rawId,
      status: refusal.status,
      reason: refusal.message,
      ms: performance.now() - r.started,
      remote: r.remote,
    });
  },
};
