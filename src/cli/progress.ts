// A terminal progress bar. On a terminal it redraws one line in place (\r);
// anywhere else (CI logs, files, pipes) redrawing would leave thousands of
// lines or one unreadable line, so it prints a full line only each time the
// progress crosses a multiple of `everyPercent`.

/** Where the bar is written: process.stderr by default. */
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** Values shown after the bar, e.g. `{ loss: 0.2345, acc: 0.9123 }`. */
export type ProgressPostfix = Readonly<Record<string, number | string>>;

export interface ProgressOptions {
  /** Shown first, e.g. `task 2/5 epoch 1/3`. */
  label: string;
  /** The count at completion (e.g. batches in the epoch). */
  total: number;
  stream?: ProgressStream;
  /** Redraw in place; by default, whether the stream is a terminal. */
  tty?: boolean;
  /** Unit of the rate, e.g. `it` (default) or `batch`. */
  unit?: string;
  /** Without a terminal: print a line each time the progress crosses a multiple of this percentage (default 10). */
  everyPercent?: number;
  /** On a terminal: the least time between redraws in ms (default 100), so that redrawing never slows training. */
  minRedrawMs?: number;
  /** Width of the bar in characters (default 24; narrowed to fit the terminal). */
  barWidth?: number;
  /** Clock in ms (default performance.now); injectable for tests. */
  now?: () => number;
}

/** `task 2/5 epoch 1/3`. */
export function taskEpochLabel(task: number, numTasks: number, epoch: number, epochs: number): string {
  return `task ${task}/${numTasks} epoch ${epoch}/${epochs}`;
}

/**
 * A postfix value: numbers with 4 decimals (scientific when tiny or huge), so
 * that columns keep their width from one redraw to the next; strings as given
 * (pass String(n) for a count).
 */
export function formatPostfixValue(value: number | string): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? value.toExponential(2) : value.toFixed(4);
}

/** Seconds as m:ss, or h:mm:ss from an hour on. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly unit: string;
  private readonly everyPercent: number;
  private readonly minRedrawMs: number;
  private readonly barWidth: number;
  private readonly now: () => number;
  private readonly start: number;
  private done = 0;
  private postfix: ProgressPostfix = {};
  private lastDraw = -Infinity;
  /** Non-TTY: the last multiple of everyPercent printed (0: none yet; the start is not worth a line). */
  private lastBucket = 0;
  private finished = false;
  /** Non-TTY: whether the current state has been printed. */
  private printedCurrent = false;

  constructor(readonly options: ProgressOptions) {
    if (!Number.isInteger(options.total) || options.total < 0) throw new RangeError(`progress total must be an integer >= 0, got ${options.total}`);
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.unit = options.unit ?? 'it';
    this.everyPercent = options.everyPercent ?? 10;
    if (!(this.everyPercent > 0 && this.everyPercent <= 100)) throw new RangeError(`everyPercent must be in (0, 100], got ${this.everyPercent}`);
    this.minRedrawMs = options.minRedrawMs ?? 100;
    this.barWidth = options.barWidth ?? 24;
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
  }

  get count(): number {
    return this.done;
  }

  /** Advances by `n` (default 1). */
  tick(n = 1, postfix?: ProgressPostfix): void {
    this.update(this.done + n, postfix);
  }

  /** Sets the count (clamped to [0, total]) and, optionally, the postfix. */
  update(done: number, postfix?: ProgressPostfix): void {
    if (this.finished) return;
    this.done = Math.min(this.options.total, Math.max(0, done));
    if (postfix !== undefined) this.postfix = postfix;
    this.printedCurrent = false;
    if (this.tty) {
      const t = this.now();
      if (t - this.lastDraw >= this.minRedrawMs || this.done === this.options.total) {
        this.lastDraw = t;
        this.stream.write(`\r${this.fit(this.render(true))}\x1b[K`);
      }
      return;
    }
    const bucket = this.bucket();
    if (bucket > this.lastBucket) {
      this.lastBucket = bucket;
      this.printedCurrent = true;
      this.stream.write(`${this.render(false)}\n`);
    }
  }

  /**
   * Ends the bar; later updates are ignored. With a postfix, draws the final
   * state with it. With a message (e.g. the epoch's summary), the message
   * replaces the bar on a terminal and is printed as the last line elsewhere.
   */
  finish(end?: ProgressPostfix | string): void {
    if (this.finished) return;
    this.finished = true;
    if (typeof end === 'string') {
      this.stream.write(this.tty ? `\r${end}\x1b[K\n` : `${end}\n`);
      return;
    }
    if (end !== undefined) {
      this.postfix = end;
      this.printedCurrent = false;
    }
    if (this.tty) this.stream.write(`\r${this.fit(this.render(true))}\x1b[K\n`);
    else if (!this.printedCurrent) this.stream.write(`${this.render(false)}\n`);
  }

  /** Completed multiples of everyPercent, e.g. 3 at 34% with everyPercent 10. */
  private bucket(): number {
    const { total } = this.options;
    const percent = total === 0 ? 100 : (100 * this.done) / total;
    return Math.floor(percent / this.everyPercent + 1e-9);
  }

  /** The line for the current state; `unicode` selects block characters for the bar. */
  render(unicode: boolean, barWidth = this.barWidth): string {
    const { total, label } = this.options;
    const fraction = total === 0 ? 1 : this.done / total;
    const filled = Math.round(fraction * barWidth);
    const bar = unicode ? '█'.repeat(filled) + '░'.repeat(barWidth - filled) : '#'.repeat(filled) + '.'.repeat(barWidth - filled);
    const elapsed = (this.now() - this.start) / 1000;
    const rate = elapsed > 0 && this.done > 0 ? this.done / elapsed : null;
    const parts = [label, `[${bar}]`, `${this.done}/${total}`, `${String(Math.floor(fraction * 100)).padStart(3)}%`];
    parts.push(rate === null ? `? ${this.unit}/s` : `${rate.toFixed(1)} ${this.unit}/s`);
    if (this.done >= total) parts.push(`in ${formatDuration(elapsed)}`);
    else if (rate !== null) parts.push(`eta ${formatDuration((total - this.done) / rate)}`);
    for (const [key, value] of Object.entries(this.postfix)) parts.push(`${key}=${formatPostfixValue(value)}`);
    return parts.join(' ');
  }

  /** Narrows the bar so that the line fits the terminal, then truncates as a last resort. */
  private fit(line: string): string {
    const columns = this.stream.columns;
    if (columns === undefined || line.length < columns) return line;
    const narrower = Math.max(5, this.barWidth - (line.length - columns + 1));
    const redrawn = this.render(true, narrower);
    return redrawn.length < columns ? redrawn : redrawn.slice(0, Math.max(0, columns - 1));
  }
}
