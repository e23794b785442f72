// Every migration, listed statically: no folder scan at start-up, and the bundle knows them all.
// Add new ones at the end with the next number; never edit one that has shipped.
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_intake.js';
import * as m0003 from './0003_outbox.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_intake': m0002,
  '0003_outbox': m0003,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
