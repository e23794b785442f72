// The fake X of 2026, mounted by tests/support/fake-twitter.ts: OAuth 2.0 (oauth2.ts), webhooks and
// replay (webhooks.ts), Activity API and Account Activity v2 subscriptions and the stream
// (activity.ts), DMs (dm.ts). `fake.x` is the test handle: state to assert on and switches.
import { XHttpError, type XAuth, type XCtx, type XHost, type XReply, type XRoute } from './common.js';
import { createActivity, type ActivityOptions } from './activity.js';
import { createDm, type DmOptions } from './dm.js';
import { createChat, type ChatOptions } from './chat.js';
import { createOAuth2, type OAuth2Options } from './oauth2.js';
import { createWebhooks, type WebhooksOptions } from './webhooks.js';

export type { FakeOAuthClient } from './oauth2.js';
export type { XDelivery, ReplayJob, FakeWebhook2, CrcCheck2 } from './webhooks.js';
export type { XaaSubscription } from './activity.js';
export type { XDmEvent, Person } from './dm.js';
export type { XHost, XAuth } from './common.js';

export type X2026Options = OAuth2Options & WebhooksOptions & ActivityOptions & DmOptions & ChatOptions;
export type { CustomerRead } from './chat.js';

export function createX2026(host: XHost, opts: X2026Options = {}) {
  const oauth2 = createOAuth2(host, opts);
  const webhooks = createWebhooks(host, oauth2, opts);
  const activity = createActivity(host, oauth2, webhooks, opts);
  const dm = createDm(host, oauth2, activity, opts);
  const chat = createChat(host, oauth2, activity, opts);
  const routes: XRoute[] = [...oauth2.routes, ...webhooks.routes, ...activity.routes, ...dm.routes, ...chat.routes];
  /** The app's standing with X's pay-per-use billing: every /2 call but the token endpoint is refused while not 'ok'. */
  let billing: 'ok' | 'depleted' | 'not-enrolled' = 'ok';
  const billingRefusal = (): XReply | undefined => {
    if (billing === 'depleted') {
      return {
        status: 402,
        headers: { 'content-type': 'application/problem+json' },
        body: { title: 'CreditsDepleted', detail: 'Your enrolled account does not have any credits to fulfill this request.', type: 'https://api.twitter.com/2/problems/credits-depleted', status: 402 },
      };
    }
    if (billing === 'not-enrolled') {
      return {
        status: 403,
        headers: { 'content-type': 'application/problem+json' },
        body: {
          client_id: 'fake',
          required_enrollment: 'Appropriate Level of API Access',
          registration_url: 'https://developer.x.com/en/portal/product',
          title: 'Client Forbidden',
          detail: 'When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.',
          reason: 'client-not-enrolled',
          type: 'https://api.twitter.com/2/problems/client-forbidden',
        },
      };
    }
    return undefined;
  };

  return {
    /** Whether a path belongs to the 2026 API (everything under /2/ and the authorize page). */
    owns: (path: string) => path.startsWith('/2/') || path === '/i/oauth2/authorize',
    /** Answers a 2026 request: a reply to send, or 'streaming' when the route took over the response. */
    async handle(c: XCtx): Promise<XReply | 'streaming'> {
      const refused = c.path.startsWith('/2/oauth2/') ? undefined : billingRefusal();
      if (refused) return refused;
      try {
        for (const [method, re, fn] of routes) {
          const m = re.exec(c.path);
          if (!m || method !== c.method) continue;
          return await fn(c, m);
        }
        // X answers unknown /2 routes (like the retired /2/account_activity/replay) as not found.
        return { status: 404, headers: { 'content-type': 'application/problem+json' }, body: { title: 'Not Found Error', detail: 'Sorry, that page does not exist.', type: 'https://api.twitter.com/2/problems/resource-not-found', status: 404 } };
      } catch (err) {
        if (err instanceof XHttpError) return { status: err.status, body: err.body, headers: err.headers };
        throw err;
      }
    },
    /** The authenticated party of a handled request, for the request record. */
    authOf: (c: XCtx): XAuth | undefined => c.auth,
    close: () => {
      activity.close();
      chat.close();
    },
    api: {
      // OAuth 2.0
      setApprover: oauth2.setApprover,
      denyNextAuthorization: oauth2.denyNextAuthorization,
      expireAccessTokens: oauth2.expireAccessTokens,
      revokeUser: oauth2.revokeUser,
      liveRefreshTokens: oauth2.liveRefreshTokens,
      isRefreshTokenValid: oauth2.isRefreshTokenValid,
      issueTokens: oauth2.issueTokens,
      // webhooks and deliveries
      webhooks: () => [...webhooks.hooks.values()],
      addWebhook: webhooks.addWebhook,
      crcChecks: webhooks.crcChecks,
      deliveries: webhooks.deliveries,
      replays: webhooks.replays,
      dropNextDeliveries: webhooks.dropNextDeliveries,
      /** X marks the webhook invalid; with `refuseCrc`, its CRC checks fail until lifted (refuseCrc(false)). */
      invalidateWebhook(id: string, opts: { refuseCrc?: boolean } = {}) {
        const hook = webhooks.hooks.get(id);
        if (!hook) throw new Error(`no webhook ${id}`);
        hook.valid = false;
        if (opts.refuseCrc) webhooks.refuseCrc(true);
      },
      refuseCrc: webhooks.refuseCrc,
      /** Credits used up (402 on every /2 call), the app not enrolled (403 client-not-enrolled), or back to normal. */
      setBilling(state: 'ok' | 'depleted' | 'not-enrolled') {
        billing = state;
      },
      /** X deletes a subscription (as when an app is re-enrolled or X cleans up). */
      deleteActivitySubscription(id: string) {
        if (!activity.xaa.delete(id)) throw new Error(`no subscription ${id}`);
      },
      refuseReplays: webhooks.refuseReplays,
      // subscriptions and the stream
      activitySubscriptions: () => [...activity.xaa.values()],
      aaaSubscriptions: (webhookId: string) => [...(activity.aaa.get(webhookId) ?? [])],
      streamConnections: activity.streamConnections,
      stallStreams: activity.stallStreams,
      dropStreams: activity.dropStreams,
      publishXaa: activity.publishXaa,
      // DMs
      dmEvents: dm.events,
      /** What X would bill under pay-per-use: received DM events delivered (webhook or stream; not the dropped ones), DM events read from the history (once per user, event and UTC day), DMs sent. */
      billable: () => ({ delivered: activity.billed.delivered, read: dm.billed.read, sent: dm.billed.sent }),
      customerSendsDm: dm.customerSendsDm,
      // X Chat (encrypted DMs)
      chatPublicKeys: chat.publicKeys,
      addChatPublicKey: chat.addPublicKey,
      customerChat: chat.customerChat,
      customerReads: chat.customerReads,
      /**
       * The user revokes the app: every token of theirs stops working, XAA oauth.revoke subscriptions
       * get {date_time, user_id, app_id}, and AAA webhooks the user_event revoke body.
       */
      userRevokesApp(userId: string, consumerKey = [...host.apps.keys()][0]!) {
        oauth2.revokeUser(userId);
        const appId = host.apps.get(consumerKey)!.appId;
        const dateTime = new Date().toISOString();
        activity.publishXaa('oauth.revoke', userId, { date_time: dateTime, user_id: userId, app_id: appId });
        return activity.publishAaa(userId, () => ({ user_event: { revoke: { date_time: dateTime, target: { app_id: appId }, source: { user_id: userId } } } }));
      },
    },
  };
}

export type FakeX2026 = ReturnType<typeof createX2026>['api'];
