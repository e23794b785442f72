// POST /webhooks/twitter/<id>: a signed delivery. Verified here and read only as far as whose it is
// (its events are parsed once, by the writer thread), written by the group committer (the intake
// pipeline on the writer thread), answered 200 only after its COMMIT. Every
// refusal is cheap: an unsigned request is refused before its body is read, a forged one after one
// HMAC, never the JSON parser.
import { parseDeliveryAddress } from '../../intake/parse.js';
import { accountMismatch, malformedAccount, unroutedResults, type EventResult, type Outcome } from '../../intake/pipeline.js';
import type { ResultsOmitted } from '../log.js';
import type { ChatWriteItem } from '../../intake/chat.js';
import { parseJsonLossless } from '../../intake/json.js';
import { isChatEventType } from '../xchat-intake.js';
import { intakeInteractionOf } from '../../db/intake.js';
import { SIGNATURE_HEADER, verifySignature } from '../../twitter/signature.js';
import { BodyTooLarge, declaredLength, declaredTooLarge, readBody, UnverifiedBudgetSpent } from '../body.js';
import type { DeliveryRejection } from '../metrics.js';
import { isPoison, PoisonDelivery } from '../intake-writer.js';
import { Refusal } from '../refusal.js';
import { send, sendAndClose, type WebhookRoute } from './deps.js';

/** Results of one delivery shown in its answer and its log line; past it, counts by outcome. */
export const MAX_RESULTS_SHOWN = 20;

export function capResults(results: EventResult[]): { results: EventResult[]; more?: ResultsOmitted } {
  if (results.length <= MAX_RESULTS_SHOWN) return { results };
  const shown = results.slice(0, MAX_RESULTS_SHOWN);
  const outcomes: Partial<Record<Outcome, number>> = {};
  let count = 0;
  for (let i = MAX_RESULTS_SHOWN; i < results.length; i++) {
    const r = results[i]!;
    // A revocation is always shown (the log shouts about it); a delivery carries at most one.
    if (r.outcome === 'revoked') {
      shown.push(r);
      continue;
    }
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    count++;
  }
  return { results: shown, more: { count, outcomes } };
}

export const deliveryRoute: WebhookRoute = {
  async handle(d, r) {
    const found = d.interaction(r.rawId);
    r.row = found instanceof Promise ? await found : found;
    const row = r.row;
    if (!row) return new Refusal(404, 'unknown_interaction', 'unknown or deleted interaction');
    if (declaredTooLarge(r.req, d.maxBodyBytes)) throw new BodyTooLarge(d.maxBodyBytes);
    const signature = r.req.headers[SIGNATURE_HEADER];
    // Refused before reading the body: an unsigned request costs nothing.
    if (typeof signature !== 'string' || signature === '') return new Refusal(401, 'missing_signature', `missing ${SIGNATURE_HEADER}`);

    // Until its signature is checked a body is anyone's: its bytes come out of a bounded budget
    // (total and per client address), taken whole from Content-Length before reading, else chunk by chunk.
    const declared = declaredLength(r.req);
    if (declared !== undefined && declared > d.unverified.perAddress) throw new BodyTooLarge(d.unverified.perAddress);
    const share = d.unverified.open(r.remote ?? 'unknown');
    let raw: Buffer;
    try {
      if (declared !== undefined && !share.take(declared)) throw new UnverifiedBudgetSpent();
      raw = await readBody(r.req, d.maxBodyBytes, d.bodyTimeoutMs, declared === undefined ? share : undefined);
      r.bodyRead = true;
      // Checked before any JSON parsing: a forged body costs one HMAC, never the parser.
      if (!verifySignature(d.apiSecret(row), raw, signature)) return new Refusal(401, 'bad_signature', 'bad signature');
    } finally {
      share.release();
    }

    const body = raw.toString('utf8');
    // Only whose delivery it is, here: its events are read once, by the writer thread.
    const { address: parsed, delivery } = parseDeliveryAddress(body);
    // A for_user_id that is no id is not "absent": taking it so would skip the account check.
    const malformed = malformedAccount(parsed);
    if (malformed) return new Refusal(400, 'bad_for_user_id', malformed);
    // v1.1: one webhook per dev environment, so a delivery for another account is refused. v2 and
    // activity: the app's one webhook carries every account's events, whichever path its URL names.
    let target = row;
    if (row.api === 'v1.1') {
      const mismatch = accountMismatch(row, parsed);
      if (mismatch) return new Refusal(403, 'account_mismatch', mismatch);
    } else {
      const routing = d.accounts.route(row, parsed.account);
      const route = routing instanceof Promise ? await routing : routing;
      if (route.kind === 'unowned') {
        const results = unroutedResults(delivery(), route.reason);
        const shown = capResults(results);
        send(d, r.res, 200, shown.more ? { results: shown.results, more: shown.more } : { results });
        d.metrics.deliveryAccepted(results.map((e) => e.outcome));
        d.log.delivery({ interaction: { id: row.id, name: row.name }, status: 200, results: shown.results, ...(shown.more ? { more: shown.more } : {}), ms: performance.now() - r.started, remote: r.remote });
        d.events.record({ interactionId: row.id, at: d.clock().toISOString(), kind: 'delivery_unrouted', result: 'no_owner', detail: route.reason, remote: r.remote ?? null });
        return undefined;
      }
      if (route.kind === 'routed') target = route.row;
    }
    if (target.account_user_id === null && !d.warnedUnknownAccount.has(target.id)) {
      d.warnedUnknownAccount.add(target.id);
      d.log.warn(`interaction #${target.id} has no known account yet, so for_user_id is not checked`, {
        interaction: target.id,
        hint: `run: omni webhook register ${target.id}`,
      });
    }

    // A retry of a delivery already found poisonous is refused again without costing the writer.
    const key = `${row.id}:${signature}`;
    if (d.poisoned.has(key)) throw new PoisonDelivery('refused before (a retry of the same bytes)');
    let chat: ChatWriteItem | undefined;
    let answered: EventResult[] | undefined;
    if (d.xchat && target.api === 'activity' && isChatEventType(parsed.eventType)) {
      // X Chat: decrypted and verified here (may call X for keys), before the commit.
      const step = await d.xchat.receive(target, parseJsonLossless(body));
      if (step.kind === 'deferred') return new Refusal(503, 'xchat_deferred', `not stored yet: ${step.detail}; retry later`);
      if (step.kind === 'answered') answered = step.results;
      else chat = step.chat;
    }
    const results =
      answered ??
      (await d.committer.submit({ interaction: intakeInteractionOf(target), body: chat ? '' : body, at: d.clock().toISOString(), ...(chat ? { chat } : {}) }).catch((err: unknown) => {
        if (isPoison(err)) d.poisoned.add(key);
        throw err;
      }));
    // A delivery of 200,000 non-events must not become a 17 MB answer and log line: the first
    // few results, and counts by outcome for the rest.
    const shown = capResults(results);
    send(d, r.res, 200, shown.more ? { results: shown.results, more: shown.more } : { results });
    d.metrics.deliveryAccepted(results.map((e) => e.outcome));
    d.log.delivery({
      interaction: { id: target.id, name: target.name },
      ...(target !== row ? { via: { id: row.id, name: row.name } } : {}),
      status: 200,
      results: shown.results,
      ...(shown.more ? { more: shown.more } : {}),
      ms: performance.now() - r.started,
      remote: r.remote,
    });
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
