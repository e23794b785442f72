// Every migration, listed statically: no folder scan at start-up, and the bundle knows them all.
// Add new ones at the end with the next number; never edit one that has shipped.
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_intake.js';
import * as m0004 from './0004_webhook_events.js';
// 0003 is unused: the outbox was numbered 0003 on its branch and landed after 0004.
import * as m0005 from './0005_outbox.js';
import * as m0006 from './0006_oauth_tokens.js';
import * as m0007 from './0007_interaction_api.js';
import * as m0008 from './0008_privacy.js';
import * as m0010 from './0010_listener_alive.js';
import * as m0011 from './0011_xchat.js';
import * as m0012 from './0012_replay_jobs.js';
import * as m0014 from './0014_xchat_conversations.js';
import * as m0015 from './0015_reconcile.js';
import * as m0016 from './0016_health.js';
import * as m0017 from './0017_listener_fleet.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_intake': m0002,
  '0004_webhook_events': m0004,
  '0005_outbox': m0005,
  '0006_oauth_tokens': m0006,
  '0007_interaction_api': m0007,
  '0008_privacy': m0008,
  '0010_listener_alive': m0010,
  '0011_xchat': m0011,
  '0012_replay_jobs': m0012,
  '0014_xchat_conversations': m0014,
  '0015_reconcile': m0015,
  '0016_health': m0016,
  '0017_listener_fleet': m0017,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
