#!/usr/bin/env node
// Thin entry: everything lives in dist/cli.js (bundled from src/main.ts by `npm run build`).
// `omni --version` is answered here, before loading anything, because scripts call it often.
const args = process.argv.slice(2);
// `omni … | head -1`: once the reader has gone, stop quietly (as `git log | head` does) instead of
// dying with an EPIPE stack trace. Nothing more can be said on a closed stream.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(pkg.version + '\n');
} else {
  // With --debug, stack traces point into src/*.ts instead of the bundled chunks.
  if (args.includes('--debug')) process.setSourceMapsEnabled(true);
  const { main } = await import('../dist/cli.js');
  process.exitCode = await main(process.argv);
}
