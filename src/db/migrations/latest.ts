// How many migrations this omni knows, i.e. the schema version a database it opens must be at
// (SQLite's user_version). Kept apart from the migrations so that opening an up-to-date database
// does not load them (start-up time). Add one here with every migration in index.ts:
// tests/db/connection.test.ts checks that the two agree.
export const LATEST_SCHEMA_VERSION = 14;
