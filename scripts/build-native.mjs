// `npm install` hook: checks that libtorch is present, then builds the N-API
// addon with node-gyp. A missing dependency is reported with the command that
// installs it instead of a compiler error. When the addon was already built
// from the same sources, libtorch and Node, it does nothing: `npx perennial`
// in a checkout installs the checkout into npm's cache as a linked package and
// runs this hook every time, and a rebuild there took minutes.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateLibtorch, openblasPresent } from './libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const addon = join('build', 'Release', 'perennial.node');
const stampFile = join('build', 'inputs.sha256');

/** A digest of everything the addon is built from. */
function buildInputs() {
  const hash = createHash('sha256');
  const files = ['binding.gyp', 'scripts/build-native.mjs', 'scripts/libtorch.mjs', 'node_modules/node-addon-api/package.json'];
  for (const name of readdirSync('native').sort()) files.push(join('native', name));
  for (const file of files) hash.update(file).update(existsSync(file) ? readFileSync(file) : '');
  hash.update(`LIBTORCH=${process.env.LIBTORCH ?? ''} node=${process.versions.node} abi=${process.versions.modules}`);
  return hash.digest('hex');
}

const inputs = buildInputs();
if (existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === inputs) process.exit(0);

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
if (result.status === 0) writeFileSync(stampFile, `${inputs}\n`);
process.exit(result.status ?? 1);
