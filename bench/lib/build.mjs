// Bundles bench/lib/omni.ts (a few of omni's source modules) into bench/.build/omni.js.
// The CLI under test is always the real build (bin/omni.js → dist/); this is only for seeding and
// for timing a query in-process.
import { build } from 'rolldown';
import { fileURLToPath } from 'node:url';

export const BUILD_DIR = fileURLToPath(new URL('../.build/', import.meta.url));

export async function buildBenchSupport() {
  await build({
    input: fileURLToPath(new URL('./omni.ts', import.meta.url)),
    platform: 'node',
    external: ['better-sqlite3', 'pino', /^node:/],
    logLevel: 'warn',
    output: { dir: BUILD_DIR, format: 'esm', entryFileNames: 'omni.js', chunkFileNames: '[name]-[hash].js' },
  });
  return import(new URL('omni.js', `file://${BUILD_DIR}`).href);
}
