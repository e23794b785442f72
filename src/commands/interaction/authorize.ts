// `omni interaction authorize <id|name>`: the support account grants omni OAuth 2.0 access, the way
// `gh auth login --web` does it. Authorization Code with PKCE (S256) and `state`: the authorize URL
// is printed on a line of its own (and opened in a browser when there is a display), X redirects
// the browser to http://127.0.0.1:<port>/callback, the code is exchanged at once (X allows 30 s),
// GET /2/users/me names the account, and the pair is stored encrypted. Without a browser (CI), a
// refresh token from an earlier authorization (OMNI_TWITTER_REFRESH_TOKEN / refreshToken) is spent
// once for a fresh pair instead.
import { spawn } from 'node:child_process';
import type { Context } from '../../cli/context.js';
import { parseDuration, parsePort } from '../../cli/flags.js';
import { printJson, success, warn } from '../../cli/output.js';
import { findInteraction, type InteractionView } from '../../db/interactions.js';
import { UsageError } from '../../errors.js';
import { OAUTH_CLIENT_COLUMNS, OAUTH_ENV, type OAuthSecrets } from '../../interactions/model.js';
import { oauthSecretsFromEnv, parseOAuthSecretsJson } from '../../interactions/rules.js';
import { recordAuthorization } from '../../interactions/write.js';
import { apiBaseUrl, apiTimeoutMs } from '../../twitter/gateway.js';
import {
  DEFAULT_REDIRECT_PORT,
  OAUTH2_SCOPES,
  authorizeBaseUrl,
  authorizeUrl,
  createPkce,
  createState,
  exchangeCode,
  fetchMe,
  refreshTokens,
  startRedirectReceiver,
  type OAuth2Client,
  type TokenSet,
} from '../../twitter/oauth2.js';
import { readSecretsText, secretsSource } from './input.js';

export interface AuthorizeOptions {
  browser?: boolean;
  redirectPort?: string;
  timeout?: string;
  secretsFile?: string;
  json?: boolean;
}

const DEFAULT_TIMEOUT = '5m';

/** Opens `url` in the desktop's browser, only where there is one; never waits for it. */
function openBrowser(url: string, env: NodeJS.ProcessEnv): boolean {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'linux' && (env.DISPLAY || env.WAYLAND_DISPLAY) ? 'xdg-open' : undefined;
  if (!command) return false;
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined); // no xdg-open: the printed URL is there
    child.unref();
    return true;
  } catch {
    return false;
  }
}

async function givenOAuthSecrets(ctx: Context, secretsFile: string | undefined): Promise<Partial<OAuthSecrets>> {
  const values = oauthSecretsFromEnv(ctx.env);
  if (secretsFile === undefined) return values;
  const fromFile = parseOAuthSecretsJson(await readSecretsText(ctx, secretsFile, 'omni interaction authorize <id>'), secretsSource(secretsFile));
  return { ...values, ...fromFile };
}

export async function authorizeAction(ctx: Context, [ref]: [string], opts: AuthorizeOptions): Promise<number> {
  const port = opts.redirectPort === undefined ? DEFAULT_REDIRECT_PORT : parsePort(opts.redirectPort, '--redirect-port');
  const timeoutMs = parseDuration(opts.timeout ?? DEFAULT_TIMEOUT, '--timeout', { minMs: 1_000, maxMs: 3_600_000 });
  const given = await givenOAuthSecrets(ctx, opts.secretsFile);
  const db = (await ctx.db()).kysely;
  const row = await findInteraction(db, ref);
  const command = `omni interaction authorize ${row.id}`;
  if (row.api === 'v1.1') {
    throw new UsageError(
      `interaction ${row.id} '${row.name}' uses the premium v1.1 API, which works with the OAuth 1.0a access token, not an OAuth 2.0 authorization`,
      `move it to X's current API first: omni interaction edit ${row.id} --api activity`,
    );
  }
  const box = await ctx.secrets();
  const stored = (f: 'clientId' | 'clientSecret') => {
    const v = row[OAUTH_CLIENT_COLUMNS[f]];
    return v === null ? undefined : box.decrypt(v, OAUTH_CLIENT_COLUMNS[f]);
  };
  const clientId = given.clientId ?? stored('clientId');
  if (clientId === undefined) {
    throw new UsageError(
      `interaction ${row.id} has no OAuth 2.0 client id`,
      `set ${OAUTH_ENV.clientId} (developer console › your app › Keys and tokens › OAuth 2.0 Client ID), or put clientId in --secrets-file`,
    );
  }
  const clientSecret = given.clientSecret ?? stored('clientSecret');
  const client: OAuth2Client = {
    apiBaseUrl: apiBaseUrl(ctx.env),
    clientId,
    ...(clientSecret !== undefined ? { clientSecret } : {}),
    timeoutMs: apiTimeoutMs(ctx.env),
    authorizeCommand: command,
  };

  let tokens: TokenSet;
  let via: 'browser' | 'refresh-token';
  if (given.refreshToken !== undefined) {
    // The CI path: X rotates refresh tokens, so the one given is spent here and omni keeps the new one.
    via = 'refresh-token';
    tokens = await refreshTokens(client, given.refreshToken, ctx.clock);
    ctx.err(`the refresh token given is now spent (X rotates it on use); omni keeps its successor, encrypted`);
  } else {
    via = 'browser';
    tokens = await browserFlow(ctx, client, row, { port, timeoutMs, browser: opts.browser !== false, command });
  }
  const account = await fetchMe(client, tokens.accessToken);
  const missing = OAUTH2_SCOPES.filter((s) => !tokens.scopes.split(/\s+/).includes(s));
  await recordAuthorization(
    db,
    row.id,
    { tokens, account, via, client: { ...(given.clientId !== undefined ? { clientId: given.clientId } : {}), ...(given.clientSecret !== undefined ? { clientSecret: given.clientSecret } : {}) } },
    { now: ctx.clock().toISOString(), actor: ctx.actor, box },
  );
  if (opts.json) {
    printJson(ctx, { interactionId: row.id, account: { userId: account.userId, username: account.username, name: account.name }, scopes: tokens.scopes, accessTokenExpiresAt: tokens.expiresAt, refreshable: tokens.refreshToken !== null, via });
  }
  success(ctx, `authorized @${account.username} (${account.userId})`);
  if (row.account_user_id && row.account_user_id !== account.userId) {
    warn(ctx, `interaction ${row.id} was registered for user id ${row.account_user_id}, but @${account.username} (${account.userId}) authorized it; run ${command} logged in as the support account if that is wrong`);
  }
  if (missing.length > 0) warn(ctx, `X granted without ${missing.join(', ')}; ${missing.includes('offline.access') ? 'the authorization stops working when the access token expires (2 h); ' : ''}run ${command} again and allow every permission`);
  return 0;
}

async function browserFlow(ctx: Context, client: OAuth2Client, row: InteractionView, o: { port: number; timeoutMs: number; browser: boolean; command: string }): Promise<TokenSet> {
  const base = authorizeBaseUrl(ctx.env);
  const state = createState();
  const pkce = createPkce();
  const cancel = new AbortController();
  const onSigint = () => cancel.abort();
  process.once('SIGINT', onSigint);
  const receiver = await startRedirectReceiver({ port: o.port, state, timeoutMs: o.timeoutMs, signal: cancel.signal, retryCommand: o.command });
  try {
    const url = authorizeUrl({ base, clientId: client.clientId, redirectUri: receiver.redirectUri, state, challenge: pkce.challenge });
    ctx.err(`Authorize omni for interaction ${row.id} '${row.name}': open this page in a browser logged in as the support account`);
    ctx.err(`(the app must list ${receiver.redirectUri} as a callback URI):`);
    ctx.err(url);
    if (o.browser && openBrowser(url, ctx.env)) ctx.err('(opened in your browser)');
    ctx.err(`waiting for X to redirect back (Ctrl-C to stop; gives up after ${Math.round(o.timeoutMs / 1000)} s)…`);
    const code = await receiver.code;
    // X gives a code 30 s: exchange it before anything else.
    return await exchangeCode(client, { code, redirectUri: receiver.redirectUri, verifier: pkce.verifier }, ctx.clock);
  } finally {
    process.removeListener('SIGINT', onSigint);
    await receiver.close();
  }
}
