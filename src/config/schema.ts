// A small schema language for plain objects read from YAML. A config error
// should be fixable from the message alone, so every problem names the full
// key path, the offending value and what would have been accepted, and a run
// of validation collects all problems at once rather than stopping at the first
// (fixing a config one error per attempt is slow when each attempt starts a run).
//
// Schemas are typed: `object({...})` infers its output type, which lets the
// experiment config declare its interfaces by hand for readability and still
// have the compiler check that the schema produces exactly them.

/** One step of a key path: an object key or an array index. */
export type PathSegment = string | number;
/** A key path from the root of a value, e.g. `['training', 'optimizer', 'lr']`. */
export type Path = readonly PathSegment[];

/** One validation problem; `message` does not repeat the path. */
export interface ValidationIssue {
  readonly path: Path;
  readonly message: string;
  /** 'key' when the problem is the key itself (an unknown key), so that locations point at the key rather than its value. */
  readonly target?: 'key';
  /** For an unknown key of a union's variant that other variants have: which, so that a loader can tell a switched variant from a typo. */
  readonly otherVariant?: OtherVariant;
}

/** An unknown key that belongs to other variants of the union checking it. */
export interface OtherVariant {
  /** The discriminator key (`name`). */
  readonly key: string;
  /** The variant chosen (`cnn`). */
  readonly tag: string;
  /** The variants that have the key (`['mlp']`). */
  readonly owners: readonly string[];
  /** What the union's values are, for messages: `backbone`. */
  readonly kind?: string;
}

/** `training.optimizer.lr`, `backbone.hiddenSizes[1]`; the empty path is `(root)`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out === '' ? '(root)' : out;
}

/** `path: message`, as the lines of a SchemaError. */
export function formatIssue(issue: ValidationIssue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}

/** Thrown by Schema.parse with every issue found. */
export class SchemaError extends Error {
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(
      `invalid value (${issues.length} ${issues.length === 1 ? 'error' : 'errors'}):\n` +
        issues.map((issue) => `  ${formatIssue(issue)}`).join('\n'),
    );
    this.name = 'SchemaError';
  }
}

/** A short, unambiguous rendering of a value for error messages. */
export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  let text: string;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    text = Array.isArray(value) ? 'a list' : 'a mapping';
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Like formatValue, but says "the string" when a string stands where a number or boolean was expected. */
function formatMismatch(value: unknown): string {
  return typeof value === 'string' ? `the string ${formatValue(value)}` : formatValue(value);
}

// ---------------------------------------------------------------------------
// Closest-match suggestions

/** Splits `learning_rate`, `learningRate`, `learning-rate` into lowercase words. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

function normalise(name: string): string {
  return words(name).join('');
}

/** Optimal-string-alignment distance: edits, with a swap of neighbours counting as one. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate the user most likely meant, or undefined. Matches, in order:
 * the same words in another spelling (`batch_size` for `batchSize`), an
 * abbreviation by initials (`lerning_rate` for `lr`, `wd` for `weightDecay`),
 * then the smallest edit distance within a third of the candidate's length.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const norm = normalise(input);
  if (norm === '') return undefined;
  const same = candidates.find((c) => normalise(c) === norm);
  if (same !== undefined) return same;
  const initials = (name: string): string => words(name).map((w) => w[0]).join('');
  const inputWords = words(input);
  const acronym = candidates.find((c) => {
    const cWords = words(c);
    return (inputWords.length > 1 && initials(input) === normalise(c)) || (cWords.length > 1 && initials(c) === norm);
  });
  if (acronym !== undefined) return acronym;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const cn = normalise(c);
    const distance = editDistance(norm, cn);
    if (distance <= Math.max(1, Math.floor(cn.length / 3)) && distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  return best;
}

function suggestion(input: unknown, candidates: readonly string[]): string {
  if (typeof input !== 'string') return '';
  const match = closestMatch(input, candidates);
  return match === undefined ? '' : ` — did you mean '${match}'?`;
}

// ---------------------------------------------------------------------------
// Schemas

/** Returned by a check that failed; its issues are already recorded. */
export const INVALID: unique symbol = Symbol('invalid');
/** What a check returns: the validated value, or INVALID once its problems are recorded. */
export type Checked<T> = T | typeof INVALID;

/** Reports a problem found by a refinement at a path relative to the refined value. */
export type Reporter = (relativePath: Path, message: string) => void;

/** One line of a schema's documentation (see describeRows). */
export interface SchemaRow {
  /** Full key path, e.g. `training.optimizer.lr`. */
  readonly key: string;
  readonly type: string;
  /** The default, rendered, when there is one. */
  readonly defaultValue?: string;
  readonly optional: boolean;
  /** For union variants: the condition, e.g. `name: mlp`. */
  readonly when?: string;
  readonly doc?: string;
}

// A method signature, so that Schema<T> stays covariant in T (Schema<number>
// is a Schema<unknown>); a function-typed property would make it invariant.
interface Refinement<T> {
  run(value: T, report: Reporter): void;
}

/** The outcome of Schema.validate: the value, or every problem found. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

/** A validator of plain values read from YAML, typed by what it produces; the constructors (`number`, `object`, `union`, ...) make them. */
export abstract class Schema<T> {
  /** Documentation shown by describeRows. */
  doc: string | undefined;
  private readonly refinements: Refinement<T>[] = [];

  /** What is accepted, as a noun phrase: `a number > 0`. */
  abstract expected(): string;
  /** The same for several values: `numbers > 0`. */
  abstract expectedPlural(): string;
  /** A short type label for documentation: `number > 0`. */
  abstract typeLabel(): string;
  protected abstract checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<T>;

  /** Validates `value` at `path`, appending problems to `issues`. */
  check(value: unknown, path: Path, issues: ValidationIssue[]): Checked<T> {
    const result = this.checkValue(value, path, issues);
    return result === INVALID ? INVALID : this.runRefinements(result, path, issues);
  }

  /** Refinements see only values that passed the structural checks, so they can rely on the types; all of them report. */
  protected runRefinements(value: T, path: Path, issues: ValidationIssue[]): Checked<T> {
    let ok = true;
    for (const refinement of this.refinements) {
      refinement.run(value, (relativePath, message) => {
        ok = false;
        issues.push({ path: [...path, ...relativePath], message });
      });
    }
    return ok ? value : INVALID;
  }

  validate(value: unknown): ValidationResult<T> {
    const issues: ValidationIssue[] = [];
    const result = this.check(value, [], issues);
    return result === INVALID || issues.length > 0 ? { ok: false, issues } : { ok: true, value: result };
  }

  /** The validated value, or a SchemaError listing every issue. */
  parse(value: unknown): T {
    const result = this.validate(value);
    if (!result.ok) throw new SchemaError(result.issues);
    return result.value;
  }

  /** Adds a cross-field check run after the value passed its own checks. */
  refine(check: (value: T, report: Reporter) => void): this {
    this.refinements.push({ run: check });
    return this;
  }

  describe(doc: string): this {
    this.doc = doc;
    return this;
  }

  /** The field may be absent (or null); it is then left out of the output. */
  optional(): OptionalSchema<T> {
    return new OptionalSchema(this);
  }

  /** The field may be absent (or null); it then takes a copy of `value`. */
  default(value: T): DefaultSchema<T> {
    return new DefaultSchema(this, value);
  }

  /** Documentation rows for this schema placed at `key`. */
  describeRows(key: string): SchemaRow[] {
    return [{ key, type: this.typeLabel(), optional: false, ...(this.doc === undefined ? {} : { doc: this.doc }) }];
  }
}

/** The type a schema produces: `Infer<typeof options>` types an algorithm's validated options. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** How an object field behaves when its key is absent. */
type Absence<T> = { kind: 'required' } | { kind: 'omit' } | { kind: 'value'; value: T };

function isRequired(schema: Schema<unknown>): boolean {
  return !(schema instanceof OptionalSchema || schema instanceof DefaultSchema);
}

function absenceOf<T>(schema: Schema<T>): Absence<T> {
  if (schema instanceof OptionalSchema) return { kind: 'omit' };
  if (schema instanceof DefaultSchema) return { kind: 'value', value: structuredClone(schema.defaultValue) as T };
  return { kind: 'required' };
}

/** Wraps a schema whose key may be absent. Outputs T; the object field becomes optional. */
export class OptionalSchema<T> extends Schema<T> {
  constructor(readonly inner: Schema<T>) {
    super();
    this.doc = inner.doc;
  }
  expected(): string {
    return this.inner.expected();
  }
  expectedPlural(): string {
    return this.inner.expectedPlural();
  }
  typeLabel(): string {
    return this.inner.typeLabel();
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<T> {
    return this.inner.check(value, path, issues);
  }
  override describeRows(key: string): SchemaRow[] {
    const rows = this.inner.describeRows(key);
    const [first, ...rest] = rows;
    if (first === undefined) return rows;
    return [{ ...first, optional: true, ...(this.doc === undefined ? {} : { doc: this.doc }) }, ...rest];
  }
}

/** Wraps a schema whose key may be absent, in which case a copy of the default is used. */
export class DefaultSchema<T> extends Schema<T> {
  constructor(
    readonly inner: Schema<T>,
    readonly defaultValue: T,
  ) {
    super();
    this.doc = inner.doc;
  }
  expected(): string {
    return this.inner.expected();
  }
  expectedPlural(): string {
    return this.inner.expectedPlural();
  }
  typeLabel(): string {
    return this.inner.typeLabel();
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<T> {
    return this.inner.check(value, path, issues);
  }
  override describeRows(key: string): SchemaRow[] {
    const rows = this.inner.describeRows(key);
    const [first, ...rest] = rows;
    // A mapping's default is spelled out by the defaults of its own keys.
    if (first === undefined || this.inner instanceof ObjectSchema || this.inner instanceof UnionSchema) return rows;
    return [
      { ...first, defaultValue: renderDefault(this.defaultValue), ...(this.doc === undefined ? {} : { doc: this.doc }) },
      ...rest,
    ];
  }
}

function renderDefault(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  return JSON.stringify(value)
    .replace(/"([A-Za-z_][A-Za-z0-9_]*)":/g, '$1: ')
    .replace(/"/g, "'")
    .replace(/,/g, ', ');
}

// --- numbers ---------------------------------------------------------------

/** Bounds of a `number()` or `integer()` schema. */
export interface NumberOptions {
  /** Only whole numbers. */
  integer?: boolean;
  min?: number;
  max?: number;
  /** `min` itself is not allowed. */
  minExclusive?: boolean;
  /** `max` itself is not allowed. */
  maxExclusive?: boolean;
}

/** A number within bounds (see NumberOptions); made by `number()` and `integer()`. */
export class NumberSchema extends Schema<number> {
  constructor(readonly options: NumberOptions = {}) {
    super();
  }
  private bounds(): string {
    const { min, max, minExclusive, maxExclusive } = this.options;
    if (min !== undefined && max !== undefined) return ` in ${minExclusive ? '(' : '['}${min}, ${max}${maxExclusive ? ')' : ']'}`;
    if (min !== undefined) return ` ${minExclusive ? '>' : '>='} ${min}`;
    if (max !== undefined) return ` ${maxExclusive ? '<' : '<='} ${max}`;
    return '';
  }
  expected(): string {
    return `${this.options.integer ? 'an integer' : 'a number'}${this.bounds()}`;
  }
  expectedPlural(): string {
    return `${this.options.integer ? 'integers' : 'numbers'}${this.bounds()}`;
  }
  typeLabel(): string {
    return `${this.options.integer ? 'integer' : 'number'}${this.bounds()}`;
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<number> {
    const { integer, min, max, minExclusive, maxExclusive } = this.options;
    const fail = (): typeof INVALID => {
      issues.push({ path, message: `expected ${this.expected()}, got ${formatMismatch(value)}` });
      return INVALID;
    };
    if (typeof value !== 'number' || !Number.isFinite(value)) return fail();
    if (integer && !Number.isSafeInteger(value)) return fail();
    if (min !== undefined && (minExclusive ? value <= min : value < min)) return fail();
    if (max !== undefined && (maxExclusive ? value >= max : value > max)) return fail();
    return value;
  }
}

// --- strings, booleans, enums ----------------------------------------------

/** Constraints of a `string()` schema. */
export interface StringOptions {
  /** Rejects the empty string. */
  nonEmpty?: boolean;
  /** The whole string must match. */
  pattern?: RegExp;
  /** What the pattern means, for messages: `a name of letters, digits, '.', '-' and '_'`. */
  patternDescription?: string;
  /** A short type label for documentation (default: `string` or `non-empty string`). */
  label?: string;
}

/** A string, possibly non-empty or matching a pattern; made by `string()`. */
export class StringSchema extends Schema<string> {
  constructor(readonly options: StringOptions = {}) {
    super();
  }
  expected(): string {
    if (this.options.patternDescription !== undefined) return this.options.patternDescription;
    return this.options.nonEmpty ? 'a non-empty string' : 'a string';
  }
  expectedPlural(): string {
    if (this.options.patternDescription !== undefined) return `strings (each ${this.options.patternDescription})`;
    return this.options.nonEmpty ? 'non-empty strings' : 'strings';
  }
  typeLabel(): string {
    if (this.options.label !== undefined) return this.options.label;
    return this.options.nonEmpty || this.options.pattern !== undefined ? 'non-empty string' : 'string';
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<string> {
    const { nonEmpty, pattern } = this.options;
    if (typeof value !== 'string' || (nonEmpty && value === '') || (pattern !== undefined && !pattern.test(value))) {
      issues.push({ path, message: `expected ${this.expected()}, got ${formatValue(value)}` });
      return INVALID;
    }
    return value;
  }
}

/** `true` or `false`; made by `boolean()`. */
export class BooleanSchema extends Schema<boolean> {
  expected(): string {
    return 'true or false';
  }
  expectedPlural(): string {
    return 'booleans (true or false)';
  }
  typeLabel(): string {
    return 'boolean';
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<boolean> {
    if (typeof value !== 'boolean') {
      issues.push({ path, message: `expected ${this.expected()}, got ${formatMismatch(value)}` });
      return INVALID;
    }
    return value;
  }
}

function quoteList(values: readonly string[]): string {
  return values.map((v) => `'${v}'`).join(', ');
}

/** One of a fixed list of strings, with a "did you mean" for near misses; made by `enumOf()`. */
export class EnumSchema<V extends string> extends Schema<V> {
  constructor(readonly values: readonly V[]) {
    super();
  }
  expected(): string {
    return `one of ${quoteList(this.values)}`;
  }
  expectedPlural(): string {
    return `values from ${quoteList(this.values)}`;
  }
  typeLabel(): string {
    return this.values.map((v) => `'${v}'`).join(' | ');
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<V> {
    const found = this.values.find((v) => v === value);
    if (found === undefined) {
      issues.push({ path, message: `expected ${this.expected()}, got ${formatValue(value)}${suggestion(value, this.values)}` });
      return INVALID;
    }
    return found;
  }
}

// --- lists -----------------------------------------------------------------

/** Length bounds of an `array()` schema. */
export interface ArrayOptions {
  minLength?: number;
  maxLength?: number;
}

/** A list whose items all pass one schema; made by `array()`. */
export class ArraySchema<T> extends Schema<T[]> {
  constructor(
    readonly item: Schema<T>,
    readonly options: ArrayOptions = {},
  ) {
    super();
  }
  private lengthText(): string {
    const { minLength, maxLength } = this.options;
    if (minLength !== undefined && minLength === maxLength) return ` of exactly ${minLength}`;
    if (minLength !== undefined && maxLength !== undefined) return ` of ${minLength} to ${maxLength}`;
    if (minLength === 1) return ' (at least one)';
    if (minLength !== undefined) return ` (at least ${minLength})`;
    if (maxLength !== undefined) return ` (at most ${maxLength})`;
    return '';
  }
  expected(): string {
    const { minLength, maxLength } = this.options;
    if (minLength !== undefined && (minLength === maxLength || maxLength !== undefined)) return `a list${this.lengthText()} ${this.item.expectedPlural()}`;
    return `a list of ${this.item.expectedPlural()}${this.lengthText()}`;
  }
  expectedPlural(): string {
    return `lists of ${this.item.expectedPlural()}`;
  }
  typeLabel(): string {
    const { minLength, maxLength } = this.options;
    if (minLength === 1 && maxLength === undefined) return `non-empty list of ${this.item.typeLabel()}`;
    return `list of ${this.item.typeLabel()}${this.lengthText()}`;
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<T[]> {
    const { minLength, maxLength } = this.options;
    if (!Array.isArray(value)) {
      issues.push({ path, message: `expected ${this.expected()}, got ${formatValue(value)}` });
      return INVALID;
    }
    if ((minLength !== undefined && value.length < minLength) || (maxLength !== undefined && value.length > maxLength)) {
      issues.push({ path, message: `expected ${this.expected()}, got ${value.length} ${value.length === 1 ? 'item' : 'items'}` });
      return INVALID;
    }
    const out: T[] = [];
    let ok = true;
    value.forEach((item: unknown, i) => {
      const checked = this.item.check(item, [...path, i], issues);
      if (checked === INVALID) ok = false;
      else out.push(checked);
    });
    return ok ? out : INVALID;
  }
}

/** A mapping from any string key to values of one schema (checkpointed tables keyed by tensor name). */
export class RecordSchema<T> extends Schema<Record<string, T>> {
  constructor(readonly value: Schema<T>) {
    super();
  }
  expected(): string {
    return `a mapping of names to ${this.value.expectedPlural()}`;
  }
  expectedPlural(): string {
    return `mappings of names to ${this.value.expectedPlural()}`;
  }
  typeLabel(): string {
    return `mapping of ${this.value.typeLabel()}`;
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<Record<string, T>> {
    if (!isPlainObject(value)) {
      issues.push({ path, message: `expected ${this.expected()}, got ${formatValue(value)}` });
      return INVALID;
    }
    const out: Record<string, T> = {};
    let ok = true;
    for (const [key, item] of Object.entries(value)) {
      const checked = this.value.check(item, [...path, key], issues);
      if (checked === INVALID) ok = false;
      else out[key] = checked;
    }
    return ok ? out : INVALID;
  }
}

type TupleOutput<S extends readonly Schema<unknown>[]> = { -readonly [K in keyof S]: Infer<S[K]> };

/** A list of fixed length, each position with its own schema; made by `tuple()`. */
export class TupleSchema<S extends readonly Schema<unknown>[]> extends Schema<TupleOutput<S>> {
  constructor(readonly items: S) {
    super();
  }
  private sameItems(): boolean {
    const first = this.items[0];
    return first !== undefined && this.items.every((s) => s.expected() === first.expected());
  }
  expected(): string {
    const first = this.items[0];
    if (first !== undefined && this.sameItems()) return `a list of exactly ${this.items.length} ${first.expectedPlural()}`;
    return `a list [${this.items.map((s) => s.expected()).join(', ')}]`;
  }
  expectedPlural(): string {
    return `lists [${this.items.map((s) => s.expected()).join(', ')}]`;
  }
  typeLabel(): string {
    return `[${this.items.map((s) => s.typeLabel()).join(', ')}]`;
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<TupleOutput<S>> {
    if (!Array.isArray(value) || value.length !== this.items.length) {
      const got = Array.isArray(value) ? `${value.length} ${value.length === 1 ? 'item' : 'items'}` : formatValue(value);
      issues.push({ path, message: `expected ${this.expected()}, got ${got}` });
      return INVALID;
    }
    const out: unknown[] = [];
    let ok = true;
    this.items.forEach((schema, i) => {
      const checked = schema.check(value[i], [...path, i], issues);
      if (checked === INVALID) ok = false;
      else out.push(checked);
    });
    // The runtime array has exactly the tuple's items in order.
    return ok ? (out as TupleOutput<S>) : INVALID;
  }
}

// --- objects ---------------------------------------------------------------

/** The fields of an `object()` schema, by key. */
export type Fields = Readonly<Record<string, Schema<unknown>>>;

type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends OptionalSchema<unknown> ? K : never }[keyof F];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** The type an `object()` schema produces: optional fields become optional properties. */
export type ObjectOutput<F extends Fields> = Simplify<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Infer<F[K]> }
>;

/** Settings of an `object()` schema. */
export interface ObjectOptions {
  /** Keep keys the schema does not name (default false: they are errors). */
  allowUnknown?: boolean;
}

/** Extra context for an object checked as a union variant. */
interface VariantContext {
  /** Keys handled by the caller (the discriminator). */
  readonly extraKeys: readonly string[];
  /** Appended to messages, e.g. `for name 'cnn'`. */
  readonly label: string;
}

/** Whether `value` is a mapping as YAML and JSON produce them (not an array, null or class instance). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A mapping with known keys, each checked by its own schema; unknown keys are errors with a "did you mean". Made by `object()`. */
export class ObjectSchema<T extends object> extends Schema<T> {
  constructor(
    readonly fields: Fields,
    readonly options: ObjectOptions = {},
  ) {
    super();
  }
  expected(): string {
    const keys = Object.keys(this.fields);
    return keys.length === 0 ? 'a mapping' : `a mapping with keys ${keys.join(', ')}`;
  }
  expectedPlural(): string {
    return 'mappings';
  }
  typeLabel(): string {
    return 'mapping';
  }
  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<T> {
    return this.checkFields(value, path, issues, { extraKeys: [], label: '' });
  }

  /** @internal Checks as a union variant, with the discriminator handled by the caller. */
  checkVariant(value: unknown, path: Path, issues: ValidationIssue[], context: VariantContext): Checked<T> {
    const result = this.checkFields(value, path, issues, context);
    return result === INVALID ? INVALID : this.runRefinements(result, path, issues);
  }

  private checkFields(value: unknown, path: Path, issues: ValidationIssue[], context: VariantContext): Checked<T> {
    const allowed = [...context.extraKeys, ...Object.keys(this.fields)];
    if (!isPlainObject(value)) {
      issues.push({ path, message: `expected ${this.expected()}${context.label === '' ? '' : ` ${context.label}`}, got ${formatValue(value)}` });
      return INVALID;
    }
    let ok = true;
    const out: Record<string, unknown> = {};
    if (this.options.allowUnknown) {
      for (const [key, v] of Object.entries(value)) if (!allowed.includes(key)) out[key] = v;
    } else {
      for (const key of Object.keys(value)) {
        if (allowed.includes(key)) continue;
        ok = false;
        const where = context.label === '' ? '' : ` ${context.label}`;
        issues.push({
          path: [...path, key],
          target: 'key',
          message: `unknown key '${key}'${where}${suggestion(key, allowed) || ';'} allowed keys: ${allowed.length === 0 ? '(none)' : allowed.join(', ')}`,
        });
      }
    }
    for (const [key, schema] of Object.entries(this.fields)) {
      const raw = value[key];
      // null counts as absent for optional and defaulted keys (`dataDir: ~` or
      // an override `key=null` resets to the default); a required key must hold a value.
      if (raw === undefined || (raw === null && !isRequired(schema))) {
        const absence = absenceOf(schema);
        if (absence.kind === 'value') out[key] = absence.value;
        else if (absence.kind === 'required') {
          ok = false;
          issues.push({ path: [...path, key], message: `missing required key (expected ${schema.expected()})` });
        }
        continue;
      }
      const checked = schema.check(raw, [...path, key], issues);
      if (checked === INVALID) ok = false;
      else out[key] = checked;
    }
    // `out` holds exactly the declared fields, checked, so it has type T.
    return ok ? (out as T) : INVALID;
  }

  override describeRows(key: string): SchemaRow[] {
    const rows: SchemaRow[] = [];
    for (const [name, schema] of Object.entries(this.fields)) rows.push(...schema.describeRows(key === '' ? name : `${key}.${name}`));
    return rows;
  }
}

// --- unions by discriminator -------------------------------------------------

type VariantOutput<K extends string, N extends string, S> = S extends ObjectSchema<infer O> ? Simplify<{ [P in K]: N } & O> : never;
/** The type a `union()` schema produces: one variant per discriminator value. */
export type UnionOutput<K extends string, V extends Record<string, ObjectSchema<object>>> = {
  [N in keyof V & string]: VariantOutput<K, N, V[N]>;
}[keyof V & string];

/** Settings of a `union()` schema. */
export interface UnionOptions {
  /** The variant used when the discriminator key is absent. */
  defaultVariant?: string;
  /** What the values are, for messages (`backbone`: "the 'mlp' backbone"). */
  kind?: string;
}

/** A mapping whose discriminator key (e.g. `name`) selects the schema of the other keys. */
export class UnionSchema<T extends object> extends Schema<T> {
  private readonly variants = new Map<string, ObjectSchema<object>>();

  constructor(
    readonly key: string,
    variants: Readonly<Record<string, ObjectSchema<object>>>,
    readonly options: UnionOptions = {},
  ) {
    super();
    for (const [tag, schema] of Object.entries(variants)) this.variants.set(tag, schema);
  }

  tags(): string[] {
    return [...this.variants.keys()];
  }

  expected(): string {
    return `a mapping with key '${this.key}' (one of ${quoteList(this.tags())})`;
  }
  expectedPlural(): string {
    return `mappings with key '${this.key}' (one of ${quoteList(this.tags())})`;
  }
  typeLabel(): string {
    return `{${this.key}: ${this.tags().join(' | ')}, ...}`;
  }

  protected checkValue(value: unknown, path: Path, issues: ValidationIssue[]): Checked<T> {
    if (!isPlainObject(value)) {
      issues.push({ path, message: `expected ${this.expected()}, got ${formatValue(value)}` });
      return INVALID;
    }
    let tag: unknown = value[this.key];
    if ((tag === undefined || tag === null) && this.options.defaultVariant !== undefined) tag = this.options.defaultVariant;
    if (tag === undefined || tag === null) {
      issues.push({ path: [...path, this.key], message: `missing required key (expected one of ${quoteList(this.tags())})` });
      return INVALID;
    }
    const schema = typeof tag === 'string' ? this.variants.get(tag) : undefined;
    if (typeof tag !== 'string' || schema === undefined) {
      issues.push({
        path: [...path, this.key],
        message: `expected one of ${quoteList(this.tags())}, got ${formatValue(tag)}${suggestion(tag, this.tags())}`,
      });
      return INVALID;
    }
    const first = issues.length;
    const rest = schema.checkVariant(value, path, issues, { extraKeys: [this.key], label: `for ${this.key} '${tag}'` });
    // Mark the unknown keys of this mapping that other variants have: the
    // value may have been written for one of them before its name changed.
    for (let i = first; i < issues.length; i++) {
      const issue = issues[i]!;
      const key = issue.path[path.length];
      if (issue.target !== 'key' || issue.path.length !== path.length + 1 || typeof key !== 'string') continue;
      const owners = this.tags().filter((t) => t !== tag && Object.hasOwn(this.variants.get(t)!.fields, key));
      if (owners.length === 0) continue;
      issues[i] = { ...issue, otherVariant: { key: this.key, tag, owners, ...(this.options.kind === undefined ? {} : { kind: this.options.kind }) } };
    }
    if (rest === INVALID) return INVALID;
    // The discriminator comes first in the output, as it is written in configs.
    return { [this.key]: tag, ...rest } as T;
  }

  override describeRows(key: string): SchemaRow[] {
    const rows: SchemaRow[] = [
      {
        key: key === '' ? this.key : `${key}.${this.key}`,
        type: this.tags().map((t) => `'${t}'`).join(' | '),
        optional: false,
        ...(this.options.defaultVariant === undefined ? {} : { defaultValue: `'${this.options.defaultVariant}'` }),
        ...(this.doc === undefined ? {} : { doc: this.doc }),
      },
    ];
    // A key shared by several variants with the same meaning is listed once,
    // with the variants it applies to.
    const merged: { row: SchemaRow; tags: string[] }[] = [];
    for (const [tag, schema] of this.variants) {
      for (const row of schema.describeRows(key)) {
        const same = merged.find(
          (m) => m.row.key === row.key && m.row.type === row.type && m.row.defaultValue === row.defaultValue && m.row.optional === row.optional && m.row.doc === row.doc,
        );
        if (same !== undefined) same.tags.push(tag);
        else merged.push({ row, tags: [tag] });
      }
    }
    for (const { row, tags } of merged) rows.push({ ...row, when: `${this.key}: ${tags.join(' | ')}` });
    return rows;
  }
}

// ---------------------------------------------------------------------------
// Constructors

/** A number schema: `number({ min: 0, minExclusive: true })` accepts positive numbers. */
export function number(options: NumberOptions = {}): NumberSchema {
  return new NumberSchema(options);
}

/** A whole-number schema with optional bounds. */
export function integer(options: Omit<NumberOptions, 'integer'> = {}): NumberSchema {
  return new NumberSchema({ ...options, integer: true });
}

/** A string schema: `string({ nonEmpty: true })`, or one matching a pattern. */
export function string(options: StringOptions = {}): StringSchema {
  return new StringSchema(options);
}

/** A schema accepting `true` or `false`. */
export function boolean(): BooleanSchema {
  return new BooleanSchema();
}

/** A schema accepting one of `values`: `enumOf(['sgd', 'adam'])`. */
export function enumOf<const V extends string>(values: readonly V[]): EnumSchema<V> {
  return new EnumSchema(values);
}

/** A list schema whose items pass `item`, with optional length bounds. */
export function array<T>(item: Schema<T>, options: ArrayOptions = {}): ArraySchema<T> {
  return new ArraySchema(item, options);
}

/** A mapping schema with any keys, every value passing `value`. */
export function record<T>(value: Schema<T>): RecordSchema<T> {
  return new RecordSchema(value);
}

/** A fixed-length list schema, one schema per position: `tuple([number(), number()])`. */
export function tuple<const S extends readonly Schema<unknown>[]>(items: S): TupleSchema<S> {
  return new TupleSchema(items);
}

/** A mapping schema with the given fields; its output type is inferred from them (see Infer). */
export function object<F extends Fields>(fields: F, options: ObjectOptions = {}): ObjectSchema<ObjectOutput<F>> {
  return new ObjectSchema<ObjectOutput<F>>(fields, options);
}

/** A mapping schema whose `key` (e.g. `name`) selects which fields it has: `union('name', { sgd: object(...), adam: object(...) })`. */
export function union<K extends string, V extends Record<string, ObjectSchema<object>>>(
  key: K,
  variants: V,
  options: UnionOptions = {},
): UnionSchema<UnionOutput<K, V>> {
  return new UnionSchema<UnionOutput<K, V>>(key, variants, options);
}
