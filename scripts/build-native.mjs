// `npm install` hook: checks that libtorch is present, then builds the N-API
// addon with node-gyp. A missing dependency is reported with the command that
// installs it instead of a compiler error.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { locateLibtorch, openblasPresent } from './libtorch.mjs';

const lt = locateLibtorch();
if (lt.problems.length > 0) {
  console.error('perennial: cannot build the native addon:');
  for (const p of lt.problems) console.error(`  - ${p}`);
  process.exit(1);
}
if (!process.env.LIBTORCH && !openblasPresent()) {
  console.warn('perennial: warning: libopenblas0-pthread is not installed; matrix products will run about 13x slower (apt-get install libopenblas0-pthread)');
}
console.log(`perennial: building the native addon against ${lt.source}${lt.hasCuda ? ' (with CUDA)' : ''}`);

const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
].filter((p) => p && existsSync(p));
if (candidates.length === 0) {
  console.error('perennial: node-gyp not found; install it with `npm install -g node-gyp`');
  process.exit(1);
}
const args = [candidates[0], 'rebuild', `--jobs=${process.env.JOBS ?? '2'}`];
// Use the machine's Node headers (Debian's nodejs ships them) instead of
// downloading them, which fails without a network.
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
