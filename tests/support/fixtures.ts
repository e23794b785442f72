// The recorded Twitter payloads (copied byte for byte from shared/fixtures/twitter, see SOURCES.md there),
// kept in the repo so the suite runs from any clone.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.js';

export const FIXTURES_DIR = path.join(ROOT, 'tests', 'fixtures', 'twitter');

export function fixtureBytes(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES_DIR, name));
}
