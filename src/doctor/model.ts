// What a doctor check is and what it reports. A check is a small async function with its
// dependencies handed in; the runner (run.ts) decides when it runs, skips it when a prerequisite
// failed or when it would leave this machine under --offline, and bounds it with a timeout.
import type { Db } from '../db/connection.js';
import type { InteractionView } from '../db/interactions.js';
import type { Secrets } from '../interactions/model.js';
import type { SecretBox } from '../secrets.js';
import type { DevEnvironment, GatewayOptions, TwitterAccount, TwitterCredentials, TwitterGateway, Webhook } from '../twitter/gateway.js';
import type { XGateway } from '../twitter/gateway-v2.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';
export type CheckScope = 'global' | 'interaction';

/** One line of the report (the `--json` contract). */
export interface CheckResult {
  id: string;
  scope: CheckScope;
  /** Set when scope is 'interaction'. */
  interactionId?: number;
  status: CheckStatus;
  title: string;
  /** What was found. */
  detail: string;
  /** One line: what to run or do. Null when there is nothing to fix. */
  fix: string | null;
}

/** What a check's function returns; the runner adds id, scope and title. */
export interface Outcome {
  status: CheckStatus;
  detail: string;
  fix?: string | null;
}

export const pass = (detail: string): Outcome => ({ status: 'pass', detail });
export const fail = (detail: string, fix: string): Outcome => ({ status: 'fail', detail, fix });
export const warn = (detail: string, fix: string): Outcome => ({ status: 'warn', detail, fix });
export const skip = (detail: string): Outcome => ({ status: 'skip', detail });

/**
 * Thrown by a fact a check needs but cannot have for a reason another check already reports
 * (e.g. credentials that cannot be decrypted: `secret-key` fails, the checks needing them skip).
 */
export class CheckSkipped extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CheckSkipped';
  }
}

/** Where a check goes outside this process; --offline skips these. */
export type Reach = 'twitter' | 'helper' | 'listener';

export interface CheckDef<C> {
  /** Stable, kebab-case; scripts match on it. */
  id: string;
  /** What passing means, as a short phrase. */
  title: string;
  /** Skipped with --offline (checks that only sometimes go out decide themselves via `offline`). */
  reaches?: Reach;
  /**
   * Ids of earlier checks of the same scope that must pass (or warn) first; otherwise this one is
   * skipped, so the report points at the cause instead of repeating its consequences.
   */
  requires?: readonly string[];
  /** Whether the check concerns this subject at all (e.g. one X API generation); left out of the report when not. */
  appliesTo?: (ctx: C) => boolean;
  run(ctx: C): Promise<Outcome>;
}

/** Time limits of the probes; each check as a whole is bounded by `checkMs`. */
export interface DoctorTimeouts {
  /** Twitter waits 3 s for a CRC answer; the listener probe allows the same. */
  crcMs: number;
  /** The Helper gets 5 s per message during interception (issue 5); the probe allows the same. */
  helperMs: number;
  /** Safety net for a whole check (a Twitter check may make two requests of OMNI_TWITTER_TIMEOUT_MS each). */
  checkMs: number;
}

export const DEFAULT_TIMEOUTS: DoctorTimeouts = { crcMs: 3_000, helperMs: 5_000, checkMs: 40_000 };

/** What the doctor needs from the outside world; the command Context provides all of it. */
export interface DoctorDeps {
  /** Opens (and migrates) the database; a failure becomes the `database` check's result. */
  db: () => Promise<Db>;
  /**
   * The secret key, or null when none exists yet. Must never create a key: a new key cannot
   * decrypt what the old one encrypted, and the doctor changes nothing.
   */
  secretKey: () => Promise<SecretBox | null>;
  /** Where the key is looked for, for messages ("OMNI_SECRET_KEY" or the key file path). */
  secretKeySource: string;
  twitter: (credentials: TwitterCredentials, options?: Pick<GatewayOptions, 'editCommand'>) => Promise<TwitterGateway>;
  /** For the listener (CRC) and Helper probes. */
  fetch: typeof globalThis.fetch;
  now: () => Date;
  /** OMNI_TWITTER_API_URL / OMNI_TWITTER_TIMEOUT_MS for X's API of 2026 (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export interface GlobalContext {
  db: Db;
  deps: DoctorDeps;
  /** Stored parameter values by number. */
  params: Map<number, string>;
  /** The interactions being checked (all live ones, or the one named). */
  interactions: InteractionView[];
  /** True when the user named one interaction. */
  selected: boolean;
  /** Memoised deps.secretKey(). */
  secretKey: () => Promise<SecretBox | null>;
}

/** Facts about one interaction, fetched once and shared by the checks that need them. */
export interface InteractionFacts {
  /** The decrypted credentials; throws CheckSkipped when they cannot be had. */
  secrets(): Promise<Secrets>;
  gateway(): Promise<TwitterGateway>;
  /** verify_credentials (with the access level). */
  account(): Promise<TwitterAccount>;
  /** Every dev environment of the app, with its webhooks (one app-only call). */
  environments(): Promise<DevEnvironment[]>;
  /** Whether the account is subscribed on the interaction's dev environment. */
  subscribed(): Promise<boolean>;
  /** X API 2026: the interaction's gateway (app bearer for the reads the doctor makes). */
  x(): Promise<XGateway>;
  /** X API 2026: the app's webhooks (GET /2/webhooks). */
  xWebhooks(): Promise<Webhook[]>;
}

export interface InteractionContext {
  db: Db;
  deps: DoctorDeps;
  row: InteractionView;
  /** The URL Twitter must reach: <callback URL>/webhooks/twitter/<id>. */
  webhookUrl: string;
  params: Map<number, string>;
  facts: InteractionFacts;
  offline: boolean;
  timeouts: DoctorTimeouts;
}

export type GlobalCheck = CheckDef<GlobalContext>;
export type InteractionCheck = CheckDef<InteractionContext>;

export interface DoctorReport {
  /** True when no check failed (warnings and skips do not fail). */
  ok: boolean;
  checks: CheckResult[];
}
