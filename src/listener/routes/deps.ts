// What every route of the listener is given: one object, built once by startListener.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IntakeInteractionRow } from '../../db/intake.js';
import type { MaybePromise } from '../../db/listener-reads.js';
import type { AccountRouter } from '../account-routing.js';
import type { UnverifiedBudget } from '../body.js';
import { clientAddress, type TrustedProxies } from '../client-address.js';
import type { EventJournal } from '../event-journal.js';
import type { StoredResults } from '../delivery-results.js';
import type { GroupCommitter } from '../group-commit.js';
import type { WriteJob } from '../intake-writer.js';
import type { ListenerLog } from '../log.js';
import type { ListenerMetrics } from '../metrics.js';
import type { Refusal } from '../refusal.js';
import type { XChatIntake } from '../xchat-intake.js';

export type Json = Record<string, unknown>;

export interface RouteDeps {
  /** A cheap read that proves the database answers (/healthz); throws or rejects otherwise. */
  ping(): MaybePromise<void>;
  /** PostgreSQL: reads what the gauges show, before /metrics renders them. */
  beforeMetrics?: () => Promise<void>;
  committer: GroupCommitter<WriteJob, StoredResults>;
  metrics: ListenerMetrics;
  log: ListenerLog;
  /** Proxies whose X-Forwarded-For is believed. */
  trustedProxies: TrustedProxies;
  /** Where CRCs are recorded. */
  events: EventJournal;
  clock: () => Date;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  /** The bytes of bodies not yet verified, bounded in total and per client address. */
  unverified: UnverifiedBudget;
  /** The live interaction a path names, or undefined (cached: src/db/listener-reads.ts); throws or rejects with InteractionUnreadable. Synchronous on SQLite. `mayBeStale`: deliveries only (the writer re-checks). */
  interaction(rawId: string, mayBeStale?: boolean): MaybePromise<IntakeInteractionRow | undefined>;
  /** The cache counter the interaction just returned was validated under, when it may be stale (SQLite); the write job carries it. */
  validatedUnder(): number | undefined;
  /** The interaction's API secret (cached); throws SecretUnreadable. */
  apiSecret(row: IntakeInteractionRow): string;
  /** True once the listener is closing (answers then ask to close the connection). */
  closing(): boolean;
  /** GET /healthz?verbose: the accounts' health as last judged (src/health/), when the listener runs the monitor. */
  accountHealth?: () => unknown[] | undefined;
  /** Deliveries (interaction:signature) refused as poison, so that their retries are refused at once; bounded. */
  poisoned: BoundedSet;
  /** Interactions already warned about for having no known account. */
  warnedUnknownAccount: Set<number>;
  /** Which interaction on a shared X webhook owns a delivery's account (account-routing.ts). */
  accounts: AccountRouter;
  /** X Chat (chat.received / chat.sent): decrypted and verified before the commit; absent in tests without it. */
  xchat?: XChatIntake;
}

/** One request to a webhook route, as its handler and its refusal reporter see it. */
export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** The id part of the path, as sent. */
  rawId: string;
  /** The query string, without '?'. */
  query: string;
  started: number;
  remote: string | undefined;
  /** The interaction, once looked up. */
  row?: IntakeInteractionRow;
  /** True once the body has been read to its end (a refusal before that closes the connection). */
  bodyRead: boolean;
}

/** A webhook route: handle answers or returns why not; refuse answers, counts and logs that refusal. */
export interface WebhookRoute {
  handle(d: RouteDeps, r: RouteRequest): Promise<Refusal | undefined>;
  refuse(d: RouteDeps, r: RouteRequest, refusal: Refusal): void;
}

/** A set that forgets its oldest entries past `max`. */
export class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.items.has(key);
  }
  add(key: string): void {
    this.items.add(key);
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value!);
  }
}

export function send(d: RouteDeps, res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const h: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers };
  if (d.closing()) h.connection = 'close'; // do not keep a connection alive past shutdown
  res.writeHead(status, h);
  res.end(text);
}

/** Answers with JSON already serialised (the answer to a stored delivery, rendered by the writer). */
export function sendJsonText(d: RouteDeps, res: ServerResponse, status: number, text: string): void {
  // A flat list of header names and values: no header object per answer.
  res.writeHead(
    status,
    d.closing()
      ? ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(text)), 'connection', 'close']
      : ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(text))],
  );
  res.end(text);
}

/** Answers and then closes the connection: used when the body was not (fully) read. */
export function sendAndClose(d: RouteDeps, req: IncomingMessage, res: ServerResponse, status: number, body: Json): void {
  res.on('finish', () => req.destroy());
  send(d, res, status, body, { connection: 'close' });
}

/** The client's address: the peer, or what a trusted proxy says in X-Forwarded-For (client-address.ts). */
export function remoteOf(req: IncomingMessage, trusted: TrustedProxies): string | undefined {
  return clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted);
}
