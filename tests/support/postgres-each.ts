// Setup file of the vitest project "postgres": a database of its own for every test (a copy of the
// migrated template made once per run), and any more it asks for (separateTestDatabase), dropped after it.
import { afterEach, beforeEach, inject } from 'vitest';
import { setCurrentPostgresDatabase } from './engine.js';
import { createPostgresDatabase, dropPostgresDatabase } from './postgres.js';

const made: string[] = [];

beforeEach(async () => {
  const template = inject('postgresTemplate');
  const another = async () => {
    const url = await createPostgresDatabase(template);
    made.push(url);
    return url;
  };
  setCurrentPostgresDatabase(await another(), another);
});

afterEach(async () => {
  setCurrentPostgresDatabase(undefined);
  while (made.length) await dropPostgresDatabase(made.pop()!);
});
