#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/main/cli (build with `node scripts/build.mjs main`).
import { main } from '../dist/main/cli/index.js';

process.exitCode = await main(process.argv.slice(2));
