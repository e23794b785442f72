// POST /webhooks/twitter/<id>: a signed delivery. Verified here and read only as far as whose it is
// (its events are parsed once, by the writer thread), written by the group committer (the intake
// pipeline on the writer thread), answered 200 only after its COMMIT. Every
// refusal is cheap: an unsigned request is refused before its body is read, a forged one after one
// HMAC, never the JSON parser.
import { addressKey, deliveryAddress, parseDelivery } from '../../intake/parse.js';
import { accountMismatch, malformedAccount, unroutedResults, type EventResult } from '../../intake/pipeline.js';
import { answerText, capResults, outcomesOf, rendered } from '../delivery-results.js';
import type { ChatWriteItem } from '../../intake/chat.js';
import { parseJsonLossless } from '../../intake/json.js';
import { isChatEventType } from '../xchat-intake.js';
import { intakeInteractionOf } from '../../db/intake.js';
import { SIGNATURE_HEADER, verifySignature } from '../../twitter/signature.js';
import { BodyTooLarge, declaredLength, declaredTooLarge, readBody, UnverifiedBudgetSpent } from '../body.js';
import type { DeliveryRejection } from '../metrics.js';
import { InteractionChanged, isInteractionChanged, isPoison, PoisonDelivery, type WriteJob } from '../intake-writer.js';
import type { IntakeInteraction, IntakeInteractionRow } from '../../db/intake.js';
import { Refusal } from '../refusal.js';
import type { DeliveryEntry } from '../log.js';
import { send, sendAndClose, sendJsonText, type RouteDeps, type RouteRequest, type WebhookRoute } from './deps.js';

export const deliveryRoute: WebhookRoute = {
  async handle(d, r) {
    // SQLite: the row may come from a cache checked a few ms ago; the writer re-checks it (validatedUnder).
    const found = d.interaction(r.rawId, true);
    let under = d.validatedUnder();
    r.row = found instanceof Promise ? await found : found;
    let row = r.row;
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
      if (!verifySignature(d.apiSecret(row), raw, signature)) {
        // A cached row may predate a new secret stored by another process: refused only by the row read afresh.
        if (under === undefined) return new Refusal(401, 'bad_signature', 'bad signature');
        const fresh = await freshRow(d, r);
        under = fresh.under;
        if (!fresh.row) return new Refusal(404, 'unknown_interaction', 'unknown or deleted interaction');
        if (fresh.row === row || !verifySignature(d.apiSecret(fresh.row), raw, signature)) return new Refusal(401, 'bad_signature', 'bad signature');
        row = fresh.row;
      }
    } finally {
      share.release();
    }

    for (let attempt = 0; ; attempt++) {
      try {
        return await accept(d, r, row, under, raw, signature);
      } catch (err) {
        if (attempt > 0 || !isInteractionChanged(err)) throw err;
      }
      // Another process changed an interaction after this row was read (the writer wrote nothing of
      // this delivery): decided again on the row read afresh, as if it had just arrived.
      const fresh = await freshRow(d, r);
      under = fresh.under;
      if (!fresh.row) return new Refusal(404, 'unknown_interaction', 'unknown or deleted interaction');
      row = fresh.row;
      if (!verifySignature(d.apiSecret(row), raw, signature)) return new Refusal(401, 'bad_signature', 'bad signature');
    }
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

/**
 * The intake's view of a cached interaction row, made once per row object: the deliveries of a batch
 * then share one object, which crosses to the writer thread once per batch (batchToWire), not once per
 * delivery. A row read afresh is a new object, so a changed interaction gets a new view.
 */
const intakeViews = new WeakMap<IntakeInteractionRow, IntakeInteraction>();
function intakeInteraction(row: IntakeInteractionRow): IntakeInteraction {
  let view = intakeViews.get(row);
  if (!view) intakeViews.set(row, (view = intakeInteractionOf(row)));
  return view;
}

/** The interaction read afresh (the cache counter read now), and the counter it was read under. */
async function freshRow(d: RouteDeps, r: RouteRequest): Promise<{ row: IntakeInteractionRow | undefined; under: number | undefined }> {
  const found = d.interaction(r.rawId);
  const under = d.validatedUnder();
  r.row = found instanceof Promise ? await found : found;
  return { row: r.row, under };
}

/**
 * A refusal (or a delivery stored nowhere) decided on a row that may be stale stands only if no
 * interaction changed since: else InteractionChanged, and the route decides again on a fresh row.
 */
async function unlessChanged(d: RouteDeps, r: RouteRequest, under: number | undefined): Promise<void> {
  if (under === undefined) return;
  if ((await freshRow(d, r)).under !== under) throw new InteractionChanged();
}

/** A verified delivery: whose it is, then written (answered 200 after its COMMIT) or refused. */
async function accept(d: RouteDeps, r: RouteRequest, row: IntakeInteractionRow, under: number | undefined, raw: Buffer, signature: string): Promise<Refusal | undefined> {
  // Only whose delivery it is, here, read from the few members that say so: its events are
  // parsed once, by the writer thread, which refuses it if its reading of the address differs.
  const parsed = deliveryAddress(raw);
  // A for_user_id that is no id is not "absent": taking it so would skip the account check.
  const malformed = malformedAccount(parsed);
  if (malformed) return new Refusal(400, 'bad_for_user_id', malformed);
  // v1.1: one webhook per dev environment, so a delivery for another account is refused. v2 and
  // activity: the app's one webhook carries every account's events, whichever path its URL names.
  let target = row;
  if (row.api === 'v1.1') {
    const mismatch = accountMismatch(row, parsed);
    if (mismatch) {
      await unlessChanged(d, r, under);
      return new Refusal(403, 'account_mismatch', mismatch);
    }
  } else {
    const routing = d.accounts.route(row, parsed.account);
    const route = routing instanceof Promise ? await routing : routing;
    if (route.kind === 'unowned') {
      await unlessChanged(d, r, under);
      const results = unroutedResults(parseDelivery(raw), route.reason);
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
    const step = await d.xchat.receive(target, parseJsonLossless(raw.toString('utf8')));
    if (step.kind === 'deferred') return new Refusal(503, 'xchat_deferred', `not stored yet: ${step.detail}; retry later`);
    if (step.kind === 'answered') answered = step.results;
    else chat = step.chat;
  }
  const job: WriteJob = { interaction: intakeInteraction(target), body: chat ? '' : raw, address: addressKey(parsed), at: d.clock().toISOString() };
  if (chat) job.chat = chat;
  // The writer writes nothing if an interaction changed since (InteractionChanged): see handle.
  if (under !== undefined) job.validatedUnder = under;
  const stored =
    answered ??
    (await d.committer.submit(job).catch((err: unknown) => {
      if (isPoison(err)) d.poisoned.add(key);
      throw err;
    }));
  // A delivery of 200,000 non-events must not become a 17 MB answer and log line: the first
  // few results, and counts by outcome for the rest (capped where they were rendered, on the
  // writer thread: here the answer and the log line are concatenated from that text).
  const text = rendered(stored);
  sendJsonText(d, r.res, 200, answerText(text));
  d.metrics.deliveryAccepted(outcomesOf(text));
  const entry: DeliveryEntry = { interaction: { id: target.id, name: target.name }, status: 200, rendered: text, ms: performance.now() - r.started, remote: r.remote };
  if (target !== row) entry.via = { id: row.id, name: row.name };
  d.log.delivery(entry);
  return undefined;
}
