#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/main/cli (build with `node scripts/build.mjs main`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('ssm-studio: the CLI is not built yet; run `node scripts/build.mjs main` (or `npm run build`) first');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
