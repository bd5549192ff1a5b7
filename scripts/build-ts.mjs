// Compiles the TypeScript into dist/ only when a source changed, and then only
// what changed (tsc --incremental): `npm start` and `npm test` call it every
// time, and a full compile took as long as the main job itself. Outputs whose
// source was deleted or renamed are removed, so a stale test can never run.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const sourceDirs = ['src', 'test', 'bench', 'tools'];
const outDir = 'dist';
const stampFile = join(outDir, 'sources.sha256');

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

const sources = sourceDirs.filter((d) => existsSync(d)).flatMap((d) => [...walk(d)]).filter((f) => f.endsWith('.ts')).sort();
const hash = createHash('sha256');
for (const file of ['tsconfig.json', 'package-lock.json', ...sources]) hash.update(file).update(readFileSync(file));
const digest = hash.digest('hex');
if (existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === digest) process.exit(0);

const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', join(outDir, '.tsbuildinfo')], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);

// Remove compiled files whose TypeScript source is gone.
const wanted = new Set(sources.map((f) => f.replace(/\.ts$/, '')));
for (const file of walk(outDir)) {
  const match = /^(.*)\.(js|js\.map|d\.ts|d\.ts\.map)$/.exec(relative(outDir, file));
  if (match && !wanted.has(match[1])) rmSync(file);
}
writeFileSync(stampFile, `${digest}\n`);
