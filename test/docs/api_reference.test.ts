// The API reference (`npm run docs`) builds from the doc comments without a
// single warning: typedoc.json turns warnings into errors and requires a doc
// comment on every export, and a plugin of ours checks the exported
// functions, which typedoc's own validation cannot require without also
// requiring every method of every class.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
const plugin = join(root, 'scripts', 'typedoc-exported-functions.mjs');

interface TypedocConfig {
  entryPoints: string[];
  treatWarningsAsErrors: boolean;
  validation: { notDocumented: boolean };
  requiredToBeDocumented: string[];
  plugin: string[];
}

function runTypedoc(args: readonly string[], cwd: string): { status: number | null; output: string } {
  const out = spawnSync(process.execPath, [typedoc, ...args], { cwd, encoding: 'utf8' });
  return { status: out.status, output: out.stdout + out.stderr };
}

describe('the API reference', () => {
  it('typedoc.json fails on any warning, and requires doc comments on every kind of export', () => {
    const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as TypedocConfig;
    assert.deepEqual(config.entryPoints, ['src/index.ts']);
    assert.equal(config.treatWarningsAsErrors, true);
    assert.equal(config.validation.notDocumented, true);
    assert.deepEqual([...config.requiredToBeDocumented].sort(), ['Class', 'Enum', 'Interface', 'Namespace', 'TypeAlias', 'Variable']);
    assert.deepEqual(config.plugin, ['./scripts/typedoc-exported-functions.mjs']);
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts['docs'], 'typedoc');
  });

  it('builds from the sources without a warning', (t) => {
    const out = tempDir('api-');
    const start = Date.now();
    const built = runTypedoc(['--out', out], root);
    t.diagnostic(`typedoc ${((Date.now() - start) / 1000).toFixed(1)} s`);
    assert.equal(built.status, 0, built.output);
    assert.doesNotMatch(built.output, /\[warning\]/);
    // The page of an export shows its doc comment.
    const page = readdirSync(join(out, 'functions')).find((f) => f.endsWith('defineAlgorithm.html'));
    assert.ok(page !== undefined, 'no page for defineAlgorithm');
    assert.match(readFileSync(join(out, 'functions', page), 'utf8'), /Declares an algorithm/);
  });

  it('an exported function without a doc comment fails the build, naming it; a method without one does not', () => {
    const project = tempDir('api-check-');
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', target: 'ES2022' }, include: ['index.ts'] }));
    writeFileSync(
      join(project, 'index.ts'),
      [
        '/** Documented. */',
        'export function documented(): number { return 1; }',
        'export function undocumented(): number { return 2; }',
        '/** A class whose method has no comment of its own. */',
        'export class Box { size(): number { return 3; } }',
        '',
      ].join('\n'),
    );
    const built = runTypedoc(['--entryPoints', 'index.ts', '--out', join(project, 'out'), '--plugin', plugin, '--treatWarningsAsErrors', '--readme', 'none', '--name', 'check'], project);
    assert.notEqual(built.status, 0, built.output);
    const warnings = built.output.split('\n').filter((line) => line.includes('does not have any documentation'));
    assert.equal(warnings.length, 1, built.output);
    assert.match(warnings[0]!, /undocumented \(Function\)/);
  });
});
