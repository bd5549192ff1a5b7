// The TypeScript example of docs/configuration.md ("Adding an algorithm") is
// type-checked with the project's compiler settings, as if it were a file of
// src/continual/algorithms/, so the documented way to add an algorithm cannot
// drift from the definitions API.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');

/** The first ts block after `heading` in `document`. */
function exampleAfter(document: string, heading: string): string {
  const text = readFileSync(join(root, document), 'utf8');
  const start = text.indexOf(heading);
  assert.ok(start >= 0, `${document} has no section '${heading}'`);
  const block = /```ts\n([\s\S]*?)```/.exec(text.slice(start));
  assert.ok(block !== null, `${document}: section '${heading}' has no ts example`);
  return block[1]!;
}

/** Compiler errors of `source` placed at `path` in the project, with the project's settings. */
function typeErrors(source: string, path: string): string[] {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const host = ts.createCompilerHost({ ...options, noEmit: true, incremental: false });
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (file) => (file === path ? source : readFile(file));
  host.getSourceFile = (file, language) => (file === path ? ts.createSourceFile(file, source, language) : getSourceFile(file, language));
  host.fileExists = ((exists) => (file: string) => file === path || exists(file))(host.fileExists.bind(host));
  const program = ts.createProgram([path], { ...options, noEmit: true, incremental: false }, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file === undefined || d.start === undefined ? '' : `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: `;
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('TypeScript examples in the docs', () => {
  it("docs/configuration.md's example of a new algorithm type-checks as a file of src/continual/algorithms/", () => {
    const example = exampleAfter('docs/configuration.md', '## Adding an algorithm');
    assert.match(example, /defineAlgorithm\(/);
    assert.deepEqual(typeErrors(example, join(root, 'src', 'continual', 'algorithms', 'documented_example.ts')), []);
  });

  it('the check fails on an example that misuses the API', () => {
    const example = exampleAfter('docs/configuration.md', '## Adding an algorithm').replace("unlearning: () => 'retains'", "unlearning: () => 'forgets'");
    assert.notDeepEqual(typeErrors(example, join(root, 'src', 'continual', 'algorithms', 'documented_example.ts')), []);
  });
});
