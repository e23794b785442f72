// Bundles the CLI so start-up parses a few files instead of hundreds (kysely alone is ~280 modules).
// Dynamic imports stay lazy: each command's action becomes its own chunk.
import { defineConfig } from 'rolldown';

export default defineConfig({
  // intake-worker: the listener's writer thread, started by path (dist/intake-worker.js).
  input: { cli: 'src/main.ts', 'intake-worker': 'src/listener/intake-worker.ts' },
  platform: 'node',
  // Native addons and packages that load files or workers at run time stay in node_modules.
  external: ['better-sqlite3', 'pg', 'pino', /^node:/],
  output: {
    dir: 'dist',
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    sourcemap: true,
    // OMNI_NO_MINIFY=1: readable function names in CPU profiles (docs/BENCHMARKS.md).
    minify: !process.env.OMNI_NO_MINIFY,
  },
});
