#!/usr/bin/env node
// Thin entry: everything lives in dist/cli.js (compiled from src/cli.ts).
import { main } from '../dist/cli.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});
