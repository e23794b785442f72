// What `GET /metrics` reports about one `omni listen` process (docs/readme/metrics.md lists each).
// Counters live in memory and start at 0 with the process; every known label value is present from
// the start so that dashboards and alerts see a 0 rather than nothing.
import type { Outcome } from '../intake/pipeline.js';
import { WATCHDOG_RESULTS, type WatchdogResult } from '../webhooks/watchdog.js';
import { Counter, Gauge, Histogram, Registry, type Labels } from './prometheus.js';

export const EVENT_OUTCOMES: Outcome[] = ['new_ticket', 'appended', 'duplicate', 'echo', 'ignored', 'revoked', 'rejected', 'erased', 'recorded'];

/** Why a POST to a webhook URL was not answered 200. */
export const DELIVERY_REJECTIONS = [
  'unknown_interaction',
  'missing_signature',
  'bad_signature',
  'too_large',
  'unverified_budget',
  'body_timeout',
  'client_aborted',
  'bad_json',
  'account_mismatch',
  'bad_for_user_id',
  'poison',
  'db_unavailable',
  'interaction_changed',
  'secret_unreadable',
  'internal_error',
  // An X Chat event whose keys X could not give now: 503, X retries (src/listener/xchat-intake.ts).
  'xchat_deferred',
] as const;
export type DeliveryRejection = (typeof DELIVERY_REJECTIONS)[number];

/** Why a CRC GET was not answered. */
export const CRC_REFUSALS = [
  'missing_token',
  'token_too_short',
  'token_too_long',
  'token_bad_characters',
  'unknown_interaction',
  'db_unavailable',
  'secret_unreadable',
] as const;
export type CrcRefusal = (typeof CRC_REFUSALS)[number];

/** Refusals before any route: too many connections, slow or malformed HTTP, unknown paths. */
export const HTTP_REJECTIONS = ['too_many_connections', 'too_many_connections_per_ip', 'connection_dropped', 'request_timeout', 'malformed', 'not_found', 'method_not_allowed'] as const;
export type HttpRejection = (typeof HTTP_REJECTIONS)[number];


const each = (name: string, values: readonly string[]): Labels[] => values.map((v) => ({ [name]: v }));

export interface ListenerMetrics {
  readonly registry: Registry;
  /** Counts the events; `erased` ones also in omni_erased_redeliveries_total. */
  deliveryAccepted(outcomes: Outcome[]): void;
  deliveryRejected(reason: DeliveryRejection): void;
  crcAnswered(): void;
  crcRefused(reason: CrcRefusal): void;
  httpRejected(reason: HttpRejection): void;
  commitBatch(size: number, ms: number): void;
  watchdog(result: WatchdogResult): void;
  eventsDropped(n: number): void;
  /** Adds a gauge read at scrape time (open connections, the outbox). */
  gauge(name: string, help: string, collect: () => Array<{ labels?: Labels; value: number }>): void;
  render(): string;
  /** For tests and the shutdown summary. */
  readonly counters: Readonly<Record<'deliveries' | 'events' | 'rejected' | 'crcAnswered' | 'crcRefused' | 'http' | 'watchdog', Counter>>;
}

export function createListenerMetrics(): ListenerMetrics {
  const registry = new Registry();
  const started = Date.now() / 1000;
  const deliveries = registry.add(new Counter('omni_deliveries_accepted_total', 'Signed deliveries committed to the database and answered 200.'));
  const events = registry.add(
    new Counter('omni_delivery_events_total', 'Events of accepted deliveries, by what the intake did with each.', each('outcome', EVENT_OUTCOMES)),
  );
  const rejected = registry.add(
    new Counter('omni_deliveries_rejected_total', 'POSTs to a webhook URL not answered 200, by reason.', each('reason', DELIVERY_REJECTIONS)),
  );
  const crcAnswered = registry.add(new Counter('omni_crc_answered_total', 'CRC challenges answered with a response_token.'));
  const crcRefused = registry.add(new Counter('omni_crc_refused_total', 'CRC challenges refused (nothing signed), by reason.', each('reason', CRC_REFUSALS)));
  const http = registry.add(new Counter('omni_http_rejected_total', 'Requests refused before reaching a webhook route, by reason.', each('reason', HTTP_REJECTIONS)));
  const batchSize = registry.add(
    new Histogram('omni_commit_batch_size', 'Deliveries written per group-commit transaction.', [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]),
  );
  const batchSeconds = registry.add(
    new Histogram('omni_commit_duration_seconds', 'Duration of one group-commit transaction, fsync included.', [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ]),
  );
  const watchdog = registry.add(new Counter('omni_watchdog_checks_total', 'Webhook watchdog checks, by result.', each('result', WATCHDOG_RESULTS)));
  const dropped = registry.add(
    new Counter('omni_webhook_events_dropped_total', 'CRC records not written to the database because the write buffer was full (a flood).'),
  );
  const erased = registry.add(
    new Counter('omni_erased_redeliveries_total', 'DM events of erased requesters dropped by the tombstone (replays, retries, reconciliation), never stored again.'),
  );
  registry.add(new Gauge('omni_process_start_time_seconds', 'Start time of this omni listen process, Unix seconds.', () => [{ value: started }]));

  // Per delivery: series looked up once here, not a label text built per event.
  const accepted = deliveries.series();
  const byOutcome = new Map(EVENT_OUTCOMES.map((outcome) => [outcome, events.series({ outcome })]));
  const erasedSeries = erased.series();
  return {
    registry,
    counters: { deliveries, events, rejected, crcAnswered, crcRefused, http, watchdog },
    deliveryAccepted(outcomes) {
      accepted.value++;
      for (const outcome of outcomes) {
        const series = byOutcome.get(outcome);
        if (series) series.value++;
        else events.inc({ outcome });
        if (outcome === 'erased') erasedSeries.value++;
      }
    },
    deliveryRejected: (reason) => rejected.inc({ reason }),
    crcAnswered: () => crcAnswered.inc(),
    crcRefused: (reason) => crcRefused.inc({ reason }),
    httpRejected: (reason) => http.inc({ reason }),
    commitBatch(size, ms) {
      batchSize.observe(size);
      batchSeconds.observe(ms / 1000);
    },
    watchdog: (result) => watchdog.inc({ result }),
    eventsDropped: (n) => dropped.inc({}, n),
    gauge: (name, help, collect) => void registry.add(new Gauge(name, help, collect)),
    render: () => registry.render(),
  };
}
