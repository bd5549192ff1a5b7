// Reading a configuration: YAML text, then Hydra-style command-line overrides
// (`training.optimizer.lr=0.1`), then validation against a schema. Every
// problem is reported with where it came from (file:line:column, or the
// override that introduced it) so the user knows what to edit.
import { readFileSync } from 'node:fs';
import { type Document, LineCounter, isMap, isScalar, parse as parseYaml, parseDocument } from 'yaml';
import { type OtherVariant, type Path, type PathSegment, type Schema, type ValidationIssue, closestMatch, formatPath, formatValue, isPlainObject } from './schema.js';

/** One problem with a configuration. */
export interface ConfigIssue {
  /** The key path concerned, or null for problems that are not about a key (YAML syntax, unreadable file). */
  readonly path: Path | null;
  readonly message: string;
  /** Where to fix it: `file.yaml:3:5`, `file.yaml`, or `override 'seed=-1'`. */
  readonly location?: string;
}

/** One line of a ConfigError: where, which key, and what is wrong. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.location === undefined ? '' : `${issue.location}: `;
  const key = issue.path === null ? '' : `${formatPath(issue.path)}: `;
  return `${where}${key}${issue.message}`;
}

/** A configuration that cannot be used; `issues` lists every problem found. */
export class ConfigError extends Error {
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly title = 'invalid configuration',
  ) {
    super(
      `${title} (${issues.length} ${issues.length === 1 ? 'error' : 'errors'}):\n` +
        issues.map((issue) => `  ${formatConfigIssue(issue).replace(/\n/g, '\n    ')}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** A parsed `key.path=value` (or `~key.path`, which removes the key). */
export interface Override {
  readonly text: string;
  readonly path: PathSegment[];
  /** Absent for a removal. */
  readonly value?: unknown;
  readonly remove: boolean;
}

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;
// Keys that would reach an object's prototype instead of a configuration key.
const RESERVED = new Set(['__proto__', 'prototype', 'constructor']);

function overrideError(text: string, message: string, path: Path | null = null): ConfigError {
  return new ConfigError([{ path, location: `override '${text}'`, message }], 'invalid override');
}

/**
 * Parses one override. The value is read as YAML, so `0.1` is a number,
 * `[100, 100]` a list, `{name: ewc}` a mapping and `abc` a string; a leading
 * `+` (Hydra's "add a key") is accepted and ignored, since keys here are
 * checked against the schema rather than against the file.
 */
export function parseOverride(text: string): Override {
  let body = text.trim();
  const remove = body.startsWith('~');
  if (remove || body.startsWith('+')) body = body.slice(1);
  const eq = body.indexOf('=');
  const keyText = (eq < 0 ? body : body.slice(0, eq)).trim();
  if (!remove && eq < 0) throw overrideError(text, `'${keyText}' has no value: write ${keyText}=<value> (or ~${keyText} to remove the key)`);
  const path: PathSegment[] = [];
  for (const part of keyText.split('.')) {
    // `hiddenSizes[1]` and `hiddenSizes.1` both address a list item.
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    const name = match?.[1] ?? '';
    const indices = [...(match?.[2] ?? '').matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    if (RESERVED.has(name)) throw overrideError(text, `'${name}' cannot be a configuration key`);
    if (match === null || (name === '' && indices.length === 0) || (name !== '' && !SEGMENT.test(name) && !/^\d+$/.test(name))) {
      throw overrideError(text, `'${keyText}' is not a key path (expected names separated by dots, e.g. training.optimizer.lr)`);
    }
    if (name !== '') path.push(/^\d+$/.test(name) ? Number(name) : name);
    path.push(...indices);
  }
  if (remove) {
    if (eq >= 0) throw overrideError(text, 'a removal (~key.path) takes no value');
    return { text, path, remove: true };
  }
  const valueText = body.slice(eq + 1).trim();
  let value: unknown;
  try {
    // An empty value means the empty string, as in Hydra (`output.name=` is not null).
    value = valueText === '' ? '' : parseYaml(valueText, { prettyErrors: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw overrideError(text, `the value is not valid YAML: ${reason}`);
  }
  return { text, path, value, remove: false };
}

/** Applies an override to a raw (unvalidated) configuration object, creating missing mappings on the way. */
export function applyOverride(root: Record<string, unknown>, override: Override): void {
  const fail = (message: string): never => {
    throw overrideError(override.text, message, override.path);
  };
  const { path } = override;
  let container: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const last = i === path.length - 1;
    if (Array.isArray(container)) {
      const list: unknown[] = container;
      const here = formatPath(path.slice(0, i));
      if (typeof segment !== 'number') return fail(`'${here}' is a list; address its items by index (${here}[0])`);
      // Setting one past the end appends; anything further would leave a hole.
      if (segment > list.length || (!last && segment === list.length)) {
        return fail(`index ${segment} is out of range: '${here}' has ${list.length} ${list.length === 1 ? 'item' : 'items'}`);
      }
      if (last) {
        if (override.remove) list.splice(segment, 1);
        else list[segment] = override.value;
        return;
      }
      container = descend(list[segment], (created) => (list[segment] = created)) ?? fail(notAMapping(path.slice(0, i + 1), list[segment]));
    } else {
      const map: Record<string, unknown> = container;
      const key = String(segment);
      if (last) {
        if (override.remove) delete map[key];
        else map[key] = override.value;
        return;
      }
      if (override.remove && (map[key] === undefined || map[key] === null)) return;
      container = descend(map[key], (created) => (map[key] = created)) ?? fail(notAMapping(path.slice(0, i + 1), map[key]));
    }
  }
}

/** The container to descend into: the existing list or mapping, a new mapping where there is none, or null for a scalar. */
function descend(current: unknown, store: (created: Record<string, unknown>) => void): Record<string, unknown> | unknown[] | null {
  if (current === undefined || current === null) {
    const created: Record<string, unknown> = {};
    store(created);
    return created;
  }
  return Array.isArray(current) || isPlainObject(current) ? current : null;
}

function notAMapping(path: Path, value: unknown): string {
  return `cannot set a key inside '${formatPath(path)}', which is ${formatValue(value)}, not a mapping`;
}

/** Where a configuration's text comes from. */
export interface ConfigSource {
  /** Shown in messages: the file path, or a name such as `<default experiment>`. */
  readonly name: string;
  readonly text: string;
  /**
   * The text is an embedded default the user did not write: where an override
   * switches a section to another variant (`backbone.name=cnn`), the
   * default's options of the old variant are dropped instead of reported.
   */
  readonly isDefault?: boolean;
}

/**
 * Whether a command-line argument is an override rather than a config file:
 * it assigns (`key=value`) or removes (`~key`), or adds with Hydra's `+`.
 */
export function isOverrideArgument(arg: string): boolean {
  return arg.includes('=') || arg.startsWith('~') || arg.startsWith('+');
}

// Names separated by dots, each with optional [index] suffixes, as overrides write keys.
const KEY_PATH = /^[A-Za-z_][A-Za-z0-9_-]*(?:\[\d+\])*(?:\.(?:[A-Za-z_][A-Za-z0-9_-]*|\d+)(?:\[\d+\])*)*$/;
const CONFIG_FILE_EXTENSION = /\.(?:ya?ml|json)$/i;

/**
 * Whether an argument that names no file is meant as a configuration key
 * given without `=value`: a top-level key (`seed`), or a dotted key path
 * whose first name is a top-level key or a near miss of one
 * (`training.epochs`, `trainig.epochs`), and not a config file name.
 */
function looksLikeKey(arg: string, topLevelKeys: readonly string[]): boolean {
  if (!KEY_PATH.test(arg) || CONFIG_FILE_EXTENSION.test(arg)) return false;
  const first = arg.split(/[.[]/)[0]!;
  if (topLevelKeys.includes(first)) return true;
  return arg.includes('.') && closestMatch(first, topLevelKeys) !== undefined;
}

/**
 * The text of the config file at `path`. A file that does not exist is "no
 * such config file", unless the argument looks like a key of `topLevelKeys`
 * missing its value, which is what the user most likely meant.
 */
export function readConfigSource(path: string, title = 'invalid configuration', topLevelKeys: readonly string[] = []): ConfigSource {
  try {
    return { name: path, text: readFileSync(path, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && looksLikeKey(path, topLevelKeys)) {
      const message = `a configuration key needs a value: write ${path}=<value> (or ~${path} to remove the key); there is no config file of that name`;
      throw new ConfigError([{ path: null, location: `argument '${path}'`, message }], title);
    }
    const reason = code === 'ENOENT' ? 'no such config file' : code === 'EISDIR' ? 'it is a directory, not a config file' : `cannot read the config file: ${error instanceof Error ? error.message : String(error)}`;
    throw new ConfigError([{ path: null, location: path, message: reason }], title);
  }
}

function position(lineCounter: LineCounter, name: string, node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: readonly number[] | null }).range;
  if (!range || range[0] === undefined) return undefined;
  const { line, col } = lineCounter.linePos(range[0]);
  return `${name}:${line}:${col}`;
}

/** The node at `path` in the document, or undefined. */
function nodeAt(doc: Document, path: Path): unknown {
  return path.length === 0 ? doc.contents : doc.getIn(path, true);
}

/**
 * file:line:column of an issue: the key itself for an unknown key, the value
 * otherwise, or the nearest enclosing mapping that is written (a missing key
 * is reported where its mapping is).
 */
function locate(doc: Document, lineCounter: LineCounter, name: string, issue: ValidationIssue): string {
  const { path } = issue;
  if (issue.target === 'key' && path.length > 0) {
    const parent = nodeAt(doc, path.slice(0, -1));
    const last = path[path.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
      const found = pair === undefined ? undefined : position(lineCounter, name, pair.key);
      if (found !== undefined) return found;
    }
  }
  for (let n = path.length; n >= 0; n--) {
    const found = position(lineCounter, name, nodeAt(doc, path.slice(0, n)));
    if (found !== undefined) return found;
  }
  return name;
}

// The number of alias expansions allowed: a configuration repeats a value a
// few times at most, while a "billion laughs" file nests aliases so that a few
// lines expand to billions of values and exhaust memory.
const MAX_ALIAS_COUNT = 100;

/** The document as plain values; a file whose aliases expand too far is a ConfigError naming it. */
function expandAliases(doc: Document, name: string, title: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (error) {
    // The yaml package reports alias problems (too many expansions, an alias
    // before its anchor) with a ReferenceError, telling them apart only by text.
    if (!(error instanceof ReferenceError)) throw error;
    const message = /excessive alias count/i.test(error.message)
      ? `YAML aliases (*name) expand to more than ${MAX_ALIAS_COUNT} copies, as in a "billion laughs" alias bomb, so the file is not read; write the values out instead of nesting aliases`
      : `YAML alias error: ${error.message}`;
    throw new ConfigError([{ path: null, location: name, message }], title);
  }
}

function isPrefix(prefix: Path, path: Path): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => s === path[i]);
}

/** Deletes the key at `path` from a raw configuration (its containers exist: validation found the key). */
function removeKey(root: Record<string, unknown>, path: Path): void {
  let container: unknown = root;
  for (const segment of path.slice(0, -1)) container = (container as Record<PathSegment, unknown>)[segment];
  delete (container as Record<PathSegment, unknown>)[path[path.length - 1]!];
}

/** The message for an option the file gives for a variant that an override replaced. */
function switchedVariantMessage(issue: ValidationIssue, other: OtherVariant, by: Override, file: string): string {
  const key = String(issue.path[issue.path.length - 1]);
  const quoted = other.owners.map((t) => `'${t}'`);
  const owners = quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]!}`;
  const owner = other.kind === undefined ? `${other.key} ${owners}` : `the ${owners} ${other.kind}`;
  const section = formatPath(issue.path.slice(0, -1));
  return `'${key}' is an option of ${owner}, not of '${other.tag}', which override '${by.text}' selects; remove it from ${file}, or replace the whole section: ${section}={${other.key}: ${other.tag}}`;
}

/**
 * Parses YAML text, applies overrides in order and validates the result.
 * Throws a ConfigError listing every problem (with `title` as its heading).
 */
export function loadConfig<T>(schema: Schema<T>, source: ConfigSource, overrideTexts: readonly string[], title = 'invalid configuration'): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = source.text.split(/\r?\n/);
    // The parser often reports one mistake several times at the same place;
    // the first message is the most direct.
    const firstAtEachPlace = doc.errors.filter((error, i) => doc.errors.findIndex((e) => e.pos[0] === error.pos[0]) === i);
    throw new ConfigError(
      firstAtEachPlace.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        const sourceLine = lines[line - 1] ?? '';
        return {
          path: null,
          location: `${source.name}:${line}:${col}`,
          // The offending line with a caret under the column, as compilers show it.
          message: `YAML syntax error: ${error.message}${sourceLine.trim() === '' ? '' : `\n${sourceLine}\n${' '.repeat(Math.max(0, col - 1))}^`}`,
        };
      }),
      title,
    );
  }
  const raw = expandAliases(doc, source.name, title);
  if (!isPlainObject(raw)) {
    throw new ConfigError([{ path: [], location: source.name, message: `expected a mapping of configuration keys, got ${formatValue(raw)}` }], title);
  }
  // Every override is tried, so that one run reports all bad overrides
  // together with the validation problems of the rest.
  const overrides: Override[] = [];
  const overrideIssues: ConfigIssue[] = [];
  for (const text of overrideTexts) {
    try {
      const override = parseOverride(text);
      applyOverride(raw, override);
      overrides.push(override);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      overrideIssues.push(...error.issues);
    }
  }
  const latestFirst = [...overrides].reverse();
  // The override that switched the variant of the section holding an option
  // the text wrote (not an override) for another variant, if that is the issue.
  const switchedBy = (issue: ValidationIssue): Override | undefined => {
    const other = issue.otherVariant;
    if (other === undefined || nodeAt(doc, issue.path) === undefined || latestFirst.some((o) => isPrefix(o.path, issue.path))) return undefined;
    const discriminator = [...issue.path.slice(0, -1), other.key];
    return latestFirst.find((o) => isPrefix(o.path, discriminator));
  };
  let result = schema.validate(raw);
  if (!result.ok && source.isDefault === true) {
    const stale = result.issues.filter((issue) => switchedBy(issue) !== undefined);
    for (const issue of stale) removeKey(raw, issue.path);
    if (stale.length > 0) result = schema.validate(raw);
  }
  if (result.ok && overrideIssues.length === 0) return result.value;
  const issues = result.ok ? [] : result.issues;
  throw new ConfigError(
    [...overrideIssues, ...issues.map((issue) => {
      // Blame, in order: the last override that wrote at or above the key;
      // the file, where it writes the key; an override that wrote inside a
      // key the file does not have (e.g. a misspelt section); the file.
      let override = latestFirst.find((o) => isPrefix(o.path, issue.path));
      if (override === undefined && nodeAt(doc, issue.path) === undefined) override = latestFirst.find((o) => isPrefix(issue.path, o.path));
      const location = override !== undefined ? `override '${override.text}'` : locate(doc, lineCounter, source.name, issue);
      const by = switchedBy(issue);
      const message = by === undefined ? issue.message : switchedVariantMessage(issue, issue.otherVariant!, by, source.name);
      return { path: issue.path, message, location };
    })],
    title,
  );
}
