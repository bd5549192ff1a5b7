#!/usr/bin/env node
// The `perennial` executable. The commands are imported only here, inside a
// try: loading the library checks the environment (PERENNIAL_NUM_THREADS, the
// native addon), and an error there must read like any other, not as an
// uncaught exception with a stack trace.
let status: number;
try {
  const { main } = await import('./commands.js');
  status = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`perennial: ${error instanceof Error ? error.message : String(error)}\n`);
  // A value out of range in the environment is the user's setting, like a
  // configuration error; anything else (a missing addon) is a failure.
  status = error instanceof RangeError ? 2 : 1;
}
process.exitCode = status;
