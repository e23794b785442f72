// `omni listen`: the daemon that turns DMs into tickets. Flags and help only; the action is lazy.
import { Command, Option } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

const ENDPOINTS = `
Endpoints:
  GET  /webhooks/twitter/<id>?crc_token=…   Twitter's CRC check (answered with the interaction's API secret)
  POST /webhooks/twitter/<id>               signed deliveries: every DM becomes a message on a ticket
  GET  /healthz                             200 when the database answers, 503 while shutting down
  GET  /metrics                             Prometheus text format (keep it private: do not proxy it)

Only CRC tokens shaped like Twitter's (4-256 letters, digits, - _ = + /) are answered: the answer is
the HMAC that signs deliveries, so answering anything would let anyone forge a signed delivery.

The watchdog asks Twitter every --watchdog-interval whether each registered webhook is still valid
and, when it is not, has Twitter re-check it at once (DMs stop while a webhook is invalid). Each
check and each CRC received is kept for 'omni webhook status'.

Limits against floods (docs/listener.md#slow-and-abusive-clients): connections per client address,
bytes of bodies not yet verified (in all and per address), and X-Forwarded-For believed only from
--trust-proxy. A delivery whose content makes the intake fail is refused 422 and never retried by omni.

Twitter needs an https URL without a port: put a reverse proxy in front (docs/reverse-proxy.md).
A delivery is answered 200 only once its events are committed to disk; 503 means "retry later".
The listener also delivers queued DMs (omni outbox list) and calls the external Helper (parameter 441).

The listener records when it was last alive (a heartbeat in the database every 20 s). Started after
more than a minute with no listener alive, it asks X to replay what X tried to deliver meanwhile, once
per webhook of the v2/activity interactions (from the last heartbeat minus 2 minutes, at most the last
24 hours: X's limit); each replayed DM is stored once. --no-replay skips it (omni webhook replay).
`;

const HEALTH = `
Account health (docs/monitoring.md): every --watchdog-interval (at most 30 s) the listener judges each
interaction (authorization, webhook, subscriptions, X's named refusals: 402 credits depleted,
client-not-enrolled; outbox stuck; silence past its silence alert) and records each entering and
leaving of an unhealthy state in the database, once across all listeners. 'omni status' reads it;
/metrics has omni_interaction_unhealthy{interaction,state}; GET /healthz?verbose lists it. With
--notify (or 'omni notify set'), each transition is POSTed once, retried with backoff.
`;

const STREAM = `
Stream mode (--stream, X Activity API interactions only): instead of waiting for X to POST to a
public URL, omni reads X's activity stream (GET /2/activity/stream) with the app's bearer token, one
connection per app. At start it creates any missing dm.received/dm.sent subscription of each
authorized activity interaction (tag omni:<id>, no webhook; with X Chat set up, chat.received/chat.sent
too: encrypted messages are verified and decrypted, docs/xchat.md). Events go through the same intake as
webhook deliveries (each DM stored once, whichever way it came) and print the same lines. A dropped
connection is opened again with backoff (X's 429 reset honoured) and X re-sends what was missed (up
to 5 minutes). Other interactions are listed with the reason they are not on the stream. The HTTP
port (--port, --host) still serves /healthz and /metrics (and webhook URLs); --port 0 picks a free one.

Reconciliation (v2/activity interactions authorized with X OAuth 2.0): X does not deliver every DM
(a subscription missing or revoked, credits out, an event lost), and replay re-sends only what X
attempted. So the listener reads each account's DM history (GET /2/dm_events) at start (after the
replay request), after a stream reconnect or a webhook revalidation, and every --reconcile-every,
back to where it read last time; a small first page, larger ones only while every event is unread,
X's rate limit honoured. What omni does not hold goes through the same intake, once. With several
listeners on one database, one reads each account at a time (a lease in the database). By hand:
omni reconcile. What it costs: omni usage.
`;

export function registerListenCommands(program: Command, run: Runner): void {
  run(
    program
      .command('listen')
      .description('serve the Twitter webhooks of every live interaction: each DM becomes a ticket message')
      .addOption(new Option('--port <port>', 'TCP port; 0 picks a free one (env OMNI_PORT; default 8080)'))
      .addOption(new Option('--host <address>', 'address to bind (env OMNI_HOST; default 127.0.0.1)'))
      .addOption(
        new Option('--log-format <format>', 'pretty: one coloured line per event; json: NDJSON (default: pretty on a terminal, json otherwise)').choices([
          'pretty',
          'json',
        ]),
      )
      .addOption(new Option('--grace <seconds>', 'on SIGINT/SIGTERM, how long in-flight deliveries may take to finish').default('10'))
      .addOption(new Option('--no-watchdog', 'do not check the registered webhooks with Twitter'))
      .addOption(new Option('--watchdog-interval <duration>', 'how often the watchdog checks, 1s to 24h: 30s, 10m, 1h (default 10m)'))
      .addOption(new Option('--helper-idle <duration>', 'a Helper conversation idle this long starts over: 30m, 1h, 90s (env OMNI_HELPER_IDLE; default 30m)'))
      .addOption(new Option('--max-connections <n>', 'open connections served; past it only /healthz and CRCs are answered (env OMNI_MAX_CONNECTIONS; default 512)'))
      .addOption(new Option('--max-connections-per-ip <n>', 'open connections from one client address; past it 503 (env OMNI_MAX_CONNECTIONS_PER_IP; default 64; trusted proxies exempt)'))
      .addOption(new Option('--max-unverified-bytes <size>', 'bytes of bodies held before their signature is checked, in all (env OMNI_MAX_UNVERIFIED_BYTES; default 32MiB)'))
      .addOption(
        new Option('--max-unverified-bytes-per-ip <size>', 'the same per client address; a larger Content-Length is refused 413 unread (env OMNI_MAX_UNVERIFIED_BYTES_PER_IP; default 2MiB)'),
      )
      .addOption(
        new Option('--trust-proxy <addresses>', 'proxies whose X-Forwarded-For names the client: IPs, CIDRs, loopback or none (env OMNI_TRUST_PROXY; default loopback when --host is loopback, else none)'),
      )
      .addOption(new Option('--stream', "no public URL needed: read X's activity stream for the activity interactions (creates their DM subscriptions); /healthz and /metrics still served"))
      .addOption(new Option('--stream-backfill <minutes>', 'with --stream: X re-sends the last 0-5 minutes on the first connection (duplicates are recognised; default 0)'))
      .addOption(
        new Option('--notify <url>', 'POST {"text","interaction","state","since"} to this URL on entering and leaving each unhealthy state (repeatable; Slack/Mattermost incoming webhooks work; also: omni notify set)').argParser(
          (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
        ),
      )
      .addOption(new Option('--no-replay', 'on start after more than a minute down, do not ask X to replay the deliveries missed meanwhile (X API 2026 webhooks)'))
      .addOption(new Option('--reconcile-every <duration>', "read X's DM history for DMs X did not deliver this often, 1s to 24h, or 0: only at start and after reconnects (default 15m)"))
      .addOption(new Option('--helper-window <duration>', 'a DM reaching omni later than this after it was sent is filed without a Helper answer: 15m, 1h, 0 (off) (default 15m)'))
      .addHelpText(
        'after',
        ENDPOINTS +
          HEALTH +
          STREAM +
          examples([
            'omni listen',
            'omni listen --port 9000 --host 0.0.0.0',
            'OMNI_PORT=0 omni listen --log-format json   # a free port, NDJSON logs',
            'omni listen --watchdog-interval 2m          # re-validate an invalid webhook within 2 minutes',
            'omni listen --no-watchdog                   # another process watches the webhooks',
            'curl -s http://127.0.0.1:8080/metrics       # counters for Prometheus',
            'omni listen --helper-idle 1h                # Helper conversations start over after an idle hour',
            'omni listen --host 0.0.0.0 --trust-proxy 10.0.0.5   # behind a proxy on another host',
            'omni listen --max-connections-per-ip 16 --max-unverified-bytes 8MiB',
            'omni listen --stream                        # on a laptop: no public URL, no TLS, no CRC',
            'omni listen --stream --stream-backfill 5 --port 0   # re-read the last 5 minutes; any free port for /healthz',
            '# in another terminal:',
            'omni simulate dm 1 --text "hello"',
            'omni listen --no-replay                     # after downtime, replay by hand: omni webhook replay 1 --since 2h',
            'omni listen --notify https://hooks.slack.com/services/T0/B0/XXXX   # a Slack message on each unhealthy state and its end',
            'omni listen --reconcile-every 5m            # look for DMs X did not deliver every 5 minutes',
            'OMNI_SECRET_KEY=… omni --db postgres://omni:…@db.example.com:5432/omni --db-pool-size 20 listen   # one of N listeners on one PostgreSQL database',
          ]),
      ),
    async () => (await import('./listen.js')).listenAction,
  );
}
