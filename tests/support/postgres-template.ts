// Global setup of the vitest project "postgres": one migrated template database per run, which every
// test copies (CREATE DATABASE … TEMPLATE) instead of migrating its own; dropped at the end.
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/connection.js';
import { createPostgresDatabase, dropPostgresDatabase } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The name of the migrated template database. */
    postgresTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = await createPostgresDatabase();
  const db = await openDatabase(template);
  await db.close();
  project.provide('postgresTemplate', decodeURIComponent(new URL(template).pathname.slice(1)));
  return () => dropPostgresDatabase(template);
}
