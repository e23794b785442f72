// Setup file of the vitest project "postgres": a database of its own for every test (a copy of the
// migrated template made once per run), dropped after it.
import { afterEach, beforeEach, inject } from 'vitest';
import { setCurrentPostgresDatabase } from './engine.js';
import { createPostgresDatabase, dropPostgresDatabase } from './postgres.js';

let url: string | undefined;

beforeEach(async () => {
  url = await createPostgresDatabase(inject('postgresTemplate'));
  setCurrentPostgresDatabase(url);
});

afterEach(async () => {
  setCurrentPostgresDatabase(undefined);
  if (url) await dropPostgresDatabase(url);
  url = undefined;
});
