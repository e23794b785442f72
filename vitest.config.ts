import { defineConfig } from 'vitest/config';

// The suites that also run against PostgreSQL (project "postgres", only with OMNI_TEST_POSTGRES_URL):
// every suite that stores something, through testDatabase()/cliWithDb() (tests/support/engine.ts,
// cli.ts), reading rows through Kysely, queryRows/readRowsAt (rows.ts) or --json, engine-specific cases
// under TEST_ENGINE; the built `omni listen` and the in-process listener (in-process-listener.ts) on
// the test's database; the outbox and Helper workers; plus what only a fleet has (outbox claims, the
// OAuth refresh lease). Not here: suites with no database (pure functions, signal handling, the
// account router's cache, the shells' completion scripts: completion reads only a SQLite file, by
// design), those whose subject is SQLite itself (its schema bytes, the writer thread, group commit
// under its write lock), and those still written against the synchronous SQLite stores
// (tests/chatbot/conversation) or not converted yet (tests/journeys/x-api-2026, twitter/user-token,
// twitter/gateway-v2). docs/postgresql.md says what is left.
const postgresSuites = [
  'tests/twitter/user-token.test.ts',
  'tests/twitter/gateway-v2.test.ts',
  'tests/db/connection.test.ts',
  'tests/db/interactions.test.ts',
  'tests/db/postgres.test.ts',
  'tests/listener/writer-engines.test.ts',
  'tests/outbox/pg-claims.test.ts',
  'tests/db/pg-fleet.test.ts',
  'tests/db/copy.test.ts',
  'tests/commands/catalog/catalog.test.ts',
  'tests/commands/param/param.test.ts',
  'tests/commands/audit/audit.test.ts',
  'tests/privacy/privacy-db.test.ts',
  'tests/db/replay-jobs.test.ts',
  'tests/db/health.test.ts',
  'tests/db/reconcile.test.ts',
  'tests/commands/interaction/xchat.test.ts',
  'tests/journeys/pg-fleet.test.ts',
  'tests/listener/listener-engines.test.ts',
  'tests/db/fleet.test.ts',
  'tests/listener/listen-cli-engines.test.ts',
  'tests/outbox/workers-engines.test.ts',
  'tests/commands/reconcile/reconcile.test.ts',
  'tests/cli-pipes.test.ts',
  'tests/main.test.ts',
  'tests/commands/apply/apply.test.ts',
  'tests/commands/apply/rules.test.ts',
  'tests/commands/interaction/authorize.test.ts',
  'tests/commands/interaction/interaction.test.ts',
  'tests/commands/interaction/secrets.test.ts',
  'tests/commands/interaction/wizard-pty.test.ts',
  'tests/commands/webhook/webhook.test.ts',
  'tests/commands/webhook/x-webhook.test.ts',
  'tests/health/silence-alert-cli.test.ts',
  'tests/commands/interaction/new-action.test.ts',
  'tests/commands/webhook/replay.test.ts',
  'tests/interactions/write.test.ts',
  'tests/webhooks/subscriptions.test.ts',
  'tests/webhooks/service.test.ts',
  'tests/health/monitor.test.ts',
  'tests/xchat/core.test.ts',
  'tests/xchat/listener-intake.test.ts',
  'tests/tickets/open.test.ts',
  'tests/privacy/intake-tombstone.test.ts',
  'tests/intake/xaa.test.ts',
  'tests/intake/pipeline.test.ts',
  'tests/listener/http.test.ts',
  'tests/listener/hostile.test.ts',
  'tests/listener/trust.test.ts',
  'tests/listener/process.test.ts',
  'tests/listener/shared-webhook.test.ts',
  'tests/listener/replay-on-start.test.ts',
  'tests/listener/reconcile.test.ts',
  'tests/listener/watchdog.test.ts',
  'tests/listener/stream-mode.test.ts',
  'tests/commands/ticket/ticket.test.ts',
  'tests/commands/ticket/reply.test.ts',
  'tests/outbox/outbox.test.ts',
  'tests/outbox/x-send.test.ts',
  'tests/commands/db/db.test.ts',
  'tests/commands/doctor/doctor.test.ts',
  'tests/doctor/run.test.ts',
  'tests/doctor/parameters.test.ts',
  'tests/health/status-notify.test.ts',
  'tests/chatbot/listen-e2e.test.ts',
  'tests/privacy/erase-e2e.test.ts',
  'tests/privacy/schedule.test.ts',
  'tests/listener/xchat-listener.test.ts',
  'tests/commands/reconcile/xchat-reconcile.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests spawn the built CLI; two workers match the two cores of CI.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        // Its global setup says once when the PostgreSQL suites are skipped, and fails when CI would skip them.
        test: { name: 'sqlite', include: ['tests/**/*.test.ts'], globalSetup: ['tests/support/postgres-global.ts'] },
      },
      ...(process.env.OMNI_TEST_POSTGRES_URL?.trim()
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: postgresSuites,
                // Every spawned CLI connects over TCP and a database is created per test: slower than a file.
                testTimeout: 120_000,
                env: { OMNI_TEST_ENGINE: 'postgres' },
                globalSetup: ['tests/support/postgres-template.ts'],
                setupFiles: ['tests/support/postgres-each.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
