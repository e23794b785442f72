// Checks made for each interaction: what 4biz asks before an interaction can work (catalogs, the
// Helper parameters), then the Twitter side (credentials, DM permission, dev environment, webhook,
// subscription) and finally whether the public callback URL reaches this omni. Local checks come
// first so that --offline still says most of what is wrong.
import { failedOutboxCount } from '../db/outbox.js';
import { webhookHealth } from '../webhooks/health.js';
import { getCatalogEntry, type CatalogKind } from '../db/catalogs.js';
import type { InteractionView } from '../db/interactions.js';
import { TwitterError } from '../twitter/errors.js';
import { listOAuthTokenStates } from '../db/oauth-tokens.js';
import { authorizationJson } from '../interactions/authorization.js';
import { API_GENERATIONS, apiLabel, isApiGeneration } from '../interactions/model.js';
import { fail, pass, skip, warn, type InteractionCheck, type InteractionContext, type Outcome } from './model.js';
import { probeCrc, probeHelper } from './probes.js';
import { listInteractions } from '../db/interactions.js';
import { isXApi, pickOurWebhook, target } from '../webhooks/x-service.js';
import { activityEventTypes, missingSubscriptions, describeSubscription } from '../webhooks/subscriptions.js';
import { hasActiveXChat } from '../xchat/conversations.js';
import { xchatCheck } from './xchat-check.js';

const edit = (row: InteractionView) => `omni interaction edit ${row.id}`;

/** A Twitter refusal as a result: Twitter's reason, and the fix the error mapping already knows. */
function twitterFailure(err: unknown): Outcome {
  if (err instanceof TwitterError) return fail(err.message, err.hint ?? 'run again with --debug for details');
  throw err;
}

const notRevoked: InteractionCheck = {
  id: 'not-revoked',
  title: 'the account has not revoked the app',
  async run({ row }) {
    if (!row.revoked_at) return pass('no revocation received');
    return fail(
      `the account revoked the app at ${row.revoked_at}: Twitter sends no more DMs`,
      `as the support account, authorise the app again (new access token and secret), then: ${edit(row)} && omni webhook register ${row.id}`,
    );
  },
};

/**
 * Which generation of X's API the interaction uses and whether it has what that generation needs
 * locally: a dev environment label for v1.1; for v2 and activity an OAuth 2.0 authorization that X
 * has not refused (lost) and that can refresh itself (offline.access granted).
 */
const apiGeneration: InteractionCheck = {
  id: 'x-api',
  title: 'the X API generation has what it needs',
  async run({ row, db }) {
    if (!isApiGeneration(row.api)) return fail(`unknown X API generation '${row.api}' (written by a newer omni?)`, `${edit(row)} --api activity`);
    const label = apiLabel(row.api);
    if (row.api === 'v1.1') {
      if (row.dev_environment === '') return fail(`${label} needs a dev environment label, and there is none`, `${edit(row)} --env-label <label>`);
      return pass(`${label}, dev environment '${row.dev_environment}'`);
    }
    const a = authorizationJson(row.api, row.id, (await listOAuthTokenStates(db.kysely, [row.id]))[0]);
    const who = a.account?.username ? ` @${a.account.username} (${a.account.userId})` : '';
    switch (a.status) {
      case 'missing':
        // A warning: a local trial (omni simulate dm) needs none; receiving real DMs does, and the
        // x-webhook / x-subscriptions checks fail until `webhook register` ran after it.
        return warn(`${label}: the support account is not authorized with OAuth 2.0 (it needs ${API_GENERATIONS[row.api].needs})`, a.fix!);
      case 'lost':
        return fail(`${label}: the OAuth 2.0 authorization of${who} is lost since ${a.lostAt}: ${a.lostReason ?? 'refused by X'}`, a.fix!);
      case 'expires':
        return warn(`${label}: authorized${who} without a refresh token (offline.access); it stops working at ${a.accessTokenExpiresAt}`, a.fix!);
      default:
        return pass(`${label}: authorized${who}, refreshed automatically`);
    }
  },
};

interface CatalogSlot {
  id: string;
  title: string;
  kind: CatalogKind;
  label: string;
  flag: string;
  column: 'unit_id' | 'group_id' | 'activity_id' | 'contact_origin_id';
  name: 'unit_name' | 'group_name' | 'activity_name' | 'contact_origin_name';
  /** The parameter the intake falls back on when the interaction names none (src/intake/pipeline.ts). */
  fallback?: number;
}

/** The interaction's entry exists (an activity in a portfolio), or the parameter fallback does. */
function catalogCheck(slot: CatalogSlot): InteractionCheck {
  return {
    id: slot.id,
    title: slot.title,
    async run({ row, db, params }) {
      const setIt = `${edit(row)} ${slot.flag} <id|name>`;
      const id = row[slot.column];
      if (id !== null) {
        // Foreign keys keep these from disappearing; a missing one means the file was edited by hand.
        if (row[slot.name] === null) return fail(`${slot.label} ${id} does not exist`, setIt);
        if (slot.kind === 'activity' && row.portfolio_name === null) return fail(`activity ${id} '${row.activity_name}' is in no existing portfolio`, setIt);
        return pass(`${row[slot.name]} (${id})${slot.kind === 'activity' ? `, portfolio ${row.portfolio_name}` : ''}`);
      }
      if (slot.fallback === undefined) return fail(`the interaction names no ${slot.label}`, setIt);
      const value = params.get(slot.fallback);
      const entry = value !== undefined && /^\d+$/.test(value) ? await getCatalogEntry(db.kysely, slot.kind, Number(value)) : undefined;
      if (!entry) return fail(`the interaction names no ${slot.label} and parameter ${slot.fallback} gives none`, setIt);
      return pass(`none on the interaction; parameter ${slot.fallback} gives ${entry.name} (${entry.id})`);
    },
  };
}

const helperOff = (row: InteractionView) => (row.helper_interception === 1 ? undefined : skip('interception with Helper is off for this interaction'));

const helperSwitch: InteractionCheck = {
  id: 'helper-switch',
  title: 'parameter 450 (Enable Helper for end users) is Y',
  async run({ row, params }) {
    const off = helperOff(row);
    if (off) return off;
    const value = params.get(450);
    if (value === 'Y') return pass('Y');
    return fail(`${value === undefined ? 'not set' : value}: DMs skip the Helper although the interaction enables it`, 'omni param set 450 Y');
  },
};

const helperFallback: InteractionCheck = {
  id: 'helper-fallback',
  title: 'parameter 453 (Helper fallback message) is set',
  async run({ row, params }) {
    const off = helperOff(row);
    if (off) return off;
    const value = params.get(453);
    if (value !== undefined) return pass(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    return fail('not set: a requester whose message the Helper cannot answer gets no useful reply', 'omni param set 453 "Sorry, I did not understand. Type menu to see the options."');
  },
};

const helperReachable: InteractionCheck = {
  id: 'helper-reachable',
  title: 'the Helper answers',
  async run({ row, params, deps, offline, timeouts }) {
    const off = helperOff(row);
    if (off) return off;
    const url = params.get(441);
    // 402 is only informative (4biz's link to the Helper's own page): shown, never called.
    const external = params.get(402) !== undefined ? `; Helper external URL (402): ${params.get(402)}` : '';
    if (url === undefined) return pass(`built-in Helper (parameter 441 is empty): nothing to reach${external}`);
    if (offline) return skip(`--offline: ${url} not called`);
    const fix441 = 'omni param set 441 https://<helper>/webhooks/rest/webhook';
    const r = await probeHelper(deps.fetch, url, timeouts.helperMs);
    if (r.kind === 'timeout') return fail(`no answer from ${url} within ${timeouts.helperMs / 1000} s (interception waits as long, then sends the 453 fallback)`, 'check the Helper server and the network between it and omni');
    if (r.kind === 'unreachable') return fail(`cannot reach ${url}: ${r.reason}`, `start the Helper, or correct its URL: ${fix441}`);
    // A GET is refused by a POST-only route (405): the server and the path exist, which is the point.
    if ((r.status >= 200 && r.status < 300) || r.status === 405) return pass(`${url} answered HTTP ${r.status} to a GET in ${r.ms} ms${external}`);
    if (r.status === 404) return fail(`${url} answered HTTP 404: no Helper endpoint at that path`, fix441);
    if (r.status >= 500) return fail(`${url} answered HTTP ${r.status}`, "check the Helper's logs");
    return warn(`${url} answered HTTP ${r.status} to a GET`, 'make sure it accepts POST {"sender","message"} from omni without credentials');
  },
};

const credentials: InteractionCheck = {
  id: 'credentials',
  title: 'the credentials are valid (verify_credentials)',
  reaches: 'twitter',
  async run({ row, facts }) {
    let account;
    try {
      account = await facts.account();
    } catch (err) {
      return twitterFailure(err);
    }
    // The listener refuses deliveries for any account but the stored one (for_user_id).
    if (row.account_user_id !== null && row.account_user_id !== account.userId) {
      return fail(
        `they belong to @${account.screenName} (${account.userId}), but the interaction is registered for account ${row.account_user_id}: its deliveries are refused`,
        `omni webhook register ${row.id}`,
      );
    }
    return pass(`@${account.screenName} (${account.userId})`);
  },
};

const DM_LEVEL = 'read-write-directmessages';

const dmPermission: InteractionCheck = {
  id: 'dm-permission',
  title: 'the app may use Direct Messages',
  reaches: 'twitter',
  requires: ['credentials'],
  async run({ row, facts }) {
    const level = (await facts.account()).accessLevel ?? null;
    const regenerate = `developer.twitter.com › your app › User authentication settings: "Read, Write and Direct Messages", regenerate the access token and secret, then: ${edit(row)}`;
    if (level === DM_LEVEL) return pass(`access level ${level}`);
    if (level === null) return warn('Twitter did not state the access level (no x-access-level header; a proxy may strip it)', `if DMs fail with code 93: ${regenerate}`);
    return fail(`access level '${level}': the token may not read or send Direct Messages`, regenerate);
  },
};

const devEnvironment: InteractionCheck = {
  id: 'dev-environment',
  title: 'the dev environment exists',
  reaches: 'twitter',
  requires: ['credentials'],
  async run({ row, facts }) {
    let envs;
    try {
      envs = await facts.environments();
    } catch (err) {
      return twitterFailure(err);
    }
    const env = envs.find((e) => e.name === row.dev_environment);
    if (env) return pass(`'${env.name}'`);
    const names = envs.map((e) => e.name);
    return fail(
      `the app has no dev environment '${row.dev_environment}'; ${names.length ? `existing: ${names.join(', ')}` : 'it has none'}`,
      names.length === 1
        ? `${edit(row)} --env-label ${names[0]}`
        : names.length > 1
          ? `${edit(row)} --env-label <${names.join('|')}>`
          : `developer.twitter.com › Dev environments: set one up for the Account Activity API, then: ${edit(row)} --env-label <label>`,
    );
  },
};

async function ourEnvironment({ row, facts }: InteractionContext) {
  return (await facts.environments()).find((e) => e.name === row.dev_environment)!;
}

const webhook: InteractionCheck = {
  id: 'webhook',
  title: "the interaction's webhook URL is registered",
  reaches: 'twitter',
  requires: ['dev-environment'],
  async run(ctx) {
    const { row, webhookUrl } = ctx;
    const env = await ourEnvironment(ctx);
    const mine = env.webhooks.find((w) => w.url === webhookUrl);
    if (mine) return pass(`${mine.url} (id ${mine.id})`);
    const other = env.webhooks[0];
    if (other) {
      return fail(
        `'${env.name}' holds another URL: ${other.url} (id ${other.id}, ${other.valid ? 'valid' : 'invalid'}), not ${webhookUrl}`,
        `omni webhook register ${row.id} --replace`,
      );
    }
    return fail(`no webhook on '${env.name}'`, `with omni listen reachable at ${row.callback_url}: omni webhook register ${row.id}`);
  },
};

const webhookValid: InteractionCheck = {
  id: 'webhook-valid',
  title: 'Twitter considers the webhook valid',
  reaches: 'twitter',
  requires: ['webhook'],
  async run(ctx) {
    const mine = (await ourEnvironment(ctx)).webhooks.find((w) => w.url === ctx.webhookUrl)!;
    if (mine.valid) return pass('valid');
    return fail('Twitter marked it invalid (a CRC failed): it delivers nothing until a CRC passes', `with omni listen reachable: omni webhook check ${ctx.row.id}`);
  },
};

const subscription: InteractionCheck = {
  id: 'subscription',
  title: 'the account is subscribed',
  reaches: 'twitter',
  requires: ['dev-environment'],
  async run({ row, facts }) {
    let subscribed;
    try {
      subscribed = await facts.subscribed();
    } catch (err) {
      return twitterFailure(err);
    }
    if (subscribed) return pass(`subscribed on '${row.dev_environment}'`);
    return fail(`not subscribed on '${row.dev_environment}': Twitter sends this account's DMs nowhere`, `omni webhook register ${row.id}`);
  },
};

const listenerCrc: InteractionCheck = {
  id: 'listener-crc',
  title: 'the callback URL answers a CRC for this interaction',
  reaches: 'listener',
  async run({ row, webhookUrl, facts, deps, timeouts }) {
    const { apiSecretKey } = await facts.secrets();
    const limit = `${timeouts.crcMs / 1000} s`;
    const start = `start omni listen and route ${row.callback_url}/webhooks/twitter/ to it (README: Connect to X; docs/reverse-proxy.md); try: curl '${webhookUrl}?crc_token=test'`;
    const r = await probeCrc(deps.fetch, webhookUrl, apiSecretKey, timeouts.crcMs);
    switch (r.kind) {
      case 'ok':
        // Twitter gives up at 3 s; an answer close to that fails as soon as the machine is busy.
        if (r.ms > (timeouts.crcMs * 2) / 3) return warn(`answered correctly but in ${r.ms} ms; Twitter gives up at ${limit}`, 'find what slows the proxy or the listener (omni listen logs the time of each request)');
        return pass(`${webhookUrl} answered in ${r.ms} ms`);
      case 'wrong-token':
        return fail(
          `${webhookUrl} answered a CRC, but not with this interaction's API secret key: it reaches another omni or another copy of interaction ${row.id}`,
          `point ${row.callback_url} at the omni listen that uses this database, or give the interaction there the same credentials`,
        );
      case 'not-crc':
        return fail(`${webhookUrl} answered 200 without a response_token: something else answers there (${JSON.stringify(r.body)})`, start);
      case 'status': {
        const why = r.status === 404 ? ' (no such interaction there, or the path is not routed to omni listen)' : r.location ? ` (redirect to ${r.location}; Twitter does not follow redirects)` : '';
        return fail(`${webhookUrl} answered HTTP ${r.status}${why}`, start);
      }
      case 'timeout':
        return fail(`no answer from ${webhookUrl} within ${limit} (Twitter's limit)`, start);
      case 'unreachable':
        return fail(`cannot reach ${webhookUrl}: ${r.reason}`, start);
    }
  },
};

/** Issue 8's watchdog data: a registered webhook Twitter has not re-validated for hours is a silent outage. */
const crcFreshness: InteractionCheck = {
  id: 'crc-freshness',
  title: 'Twitter re-validated the webhook recently (CRC)',
  async run({ db, row, deps }) {
    const h = await webhookHealth(db.kysely, row, deps.now());
    if (!h.registered) return skip('no webhook registered as far as omni knows');
    const crc = h.lastCrc ? `last CRC from Twitter ${h.lastCrc.at}` : 'no CRC from Twitter recorded';
    const watchdog = h.lastWatchdogCheck ? `; watchdog ${h.lastWatchdogCheck.at}: ${h.lastWatchdogCheck.result}` : '';
    return h.warnings.length > 0 ? warn(`${crc}${watchdog}: ${h.warnings.join('; ')}`, `omni webhook check ${row.id}`) : pass(`${crc}${watchdog}`);
  },
};

/**
 * DMs omni could not deliver. A warning, not a failure: most are about one requester (349: they do
 * not accept DMs), not about the set-up; the reason and the retry are one command away.
 */
const outboxFailures: InteractionCheck = {
  id: 'outbox-failures',
  title: 'no outbound DM has failed',
  async run({ db, row }) {
    const failed = await failedOutboxCount(db.kysely, row.id);
    if (failed === 0) return pass('none');
    return warn(`${failed} DM${failed === 1 ? '' : 's'} could not be delivered`, 'omni outbox list --status failed (then omni outbox retry <id>)');
  },
};

/** The premium v1.1 checks (verify_credentials, dev environments): not for X API 2026 interactions. */
function v11Only(c: InteractionCheck): InteractionCheck {
  return { ...c, appliesTo: ({ row }) => !isXApi(row.api) };
}

/** X API 2026: the app's one webhook (GET /2/webhooks) serves this interaction and is valid. */
const xWebhook: InteractionCheck = {
  id: 'x-webhook',
  title: "the app's webhook serves this interaction and X finds it valid",
  reaches: 'twitter',
  appliesTo: ({ row }) => isXApi(row.api),
  async run({ row, db, facts }) {
    let hooks;
    try {
      hooks = await facts.xWebhooks();
    } catch (err) {
      return twitterFailure(err);
    }
    const others = new Set((await listInteractions(db.kysely)).filter((r) => r.id !== row.id && isXApi(r.api) && r.webhook_id !== null).map((r) => r.webhook_id!));
    const mine = pickOurWebhook(row, hooks, others);
    if (!mine) {
      const other = hooks[0];
      if (other) return fail(`the app's one webhook is another URL: ${other.url} (id ${other.id}); X allows one per app`, `if nothing uses it: omni webhook register ${row.id} --replace`);
      return fail('the app has no webhook: X delivers nothing', `with omni listen reachable at ${row.callback_url}: omni webhook register ${row.id}`);
    }
    if (!mine.valid) return fail(`${mine.url} (id ${mine.id}) is invalid (a CRC failed): X delivers nothing until a CRC passes`, `with omni listen reachable: omni webhook check ${row.id}`);
    if (row.webhook_id !== mine.id) return warn(`${mine.url} (id ${mine.id}) is valid, but omni has not stored it for this interaction`, `omni webhook register ${row.id}`);
    return pass(`${mine.url} (id ${mine.id}), valid`);
  },
};

/** X API 2026: the account's subscriptions (Activity API dm.received/dm.sent, or Account Activity v2) are present. */
const xSubscriptions: InteractionCheck = {
  id: 'x-subscriptions',
  title: "the account's subscriptions are present",
  reaches: 'twitter',
  requires: ['x-api', 'x-webhook'],
  appliesTo: ({ row }) => isXApi(row.api),
  async run({ row, db, facts }) {
    const state = (await listOAuthTokenStates(db.kysely, [row.id]))[0];
    const userId = state?.account_user_id ?? row.account_user_id;
    if (!userId) return fail('the support account is not known', `omni interaction authorize ${row.id}`);
    let c;
    try {
      const hooks = await facts.xWebhooks();
      const others = new Set((await listInteractions(db.kysely)).filter((r) => r.id !== row.id && isXApi(r.api) && r.webhook_id !== null).map((r) => r.webhook_id!));
      c = await missingSubscriptions(await facts.x(), target(row, userId, pickOurWebhook(row, hooks, others)!.id, row.api === 'activity' && (await hasActiveXChat(db.kysely, row.id)) ? activityEventTypes(true) : undefined));
    } catch (err) {
      return twitterFailure(err);
    }
    if (c.missing.length > 0) return fail(`missing: ${c.missing.map(describeSubscription).join('; ')}: X sends those events nowhere`, `omni webhook register ${row.id}`);
    return pass(c.present.map((p) => describeSubscription(p.subscription)).join('; '));
  },
};

/**
 * The checks of an interaction, in report order. A check may only `require` checks listed before
 * it. To add one, write an InteractionCheck (its `run` gets the interaction row, the database, the
 * parameters and the shared Twitter facts) and put it here.
 */
export const INTERACTION_CHECKS: readonly InteractionCheck[] = [
  notRevoked,
  apiGeneration,
  catalogCheck({ id: 'unit', title: 'the default unit exists', kind: 'unit', label: 'unit', flag: '--unit', column: 'unit_id', name: 'unit_name', fallback: 390 }),
  catalogCheck({ id: 'group', title: 'the default group exists', kind: 'group', label: 'group', flag: '--group', column: 'group_id', name: 'group_name' }),
  catalogCheck({ id: 'activity', title: 'the default activity exists in a portfolio', kind: 'activity', label: 'activity', flag: '--activity', column: 'activity_id', name: 'activity_name', fallback: 317 }),
  catalogCheck({ id: 'contact-origin', title: 'the contact origin exists', kind: 'origin', label: 'contact origin', flag: '--origin', column: 'contact_origin_id', name: 'contact_origin_name', fallback: 315 }),
  helperSwitch,
  helperFallback,
  helperReachable,
  v11Only(credentials),
  v11Only(dmPermission),
  v11Only(devEnvironment),
  v11Only(webhook),
  v11Only(webhookValid),
  v11Only(subscription),
  xWebhook,
  xSubscriptions,
  crcFreshness,
  listenerCrc,
  outboxFailures,
  xchatCheck,
];
