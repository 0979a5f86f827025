#!/usr/bin/env node
// Benchmark dispatcher behind `npm run bench -- <name> [args]`. Each benchmark is a module exporting main(args).
const BENCHES = {
  s4nd: './s4nd.mjs', // S4ND layer fwd / fwd+bwd at the reference shapes (2-D 32x32, 1-D 4096, 3-D 8x32x32)
  's4nd-conv': './s4nd-conv.mjs', // per-axis direct vs FFT crossover
};

const [name, ...args] = process.argv.slice(2);
if (!name || !(name in BENCHES)) {
  console.error(`bench: unknown or missing benchmark '${name ?? ''}' (available: ${Object.keys(BENCHES).join(', ')})`);
  process.exit(2);
}
const mod = await import(new URL(BENCHES[name], import.meta.url));
await mod.main(args);
