// run.log: a timestamped record of what a run did. Lines are appended (a log
// only grows, and each append is one write of whole lines), synchronously, so
// that everything logged before a crash is on disk.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { OutputError, outputError } from '../../serialization/write_errors.js';

/** The level of a line of run.log. */
export type LogLevel = 'info' | 'warn' | 'error';

/**
 * `2024-05-01T12:00:00.000Z INFO  message`; a multi-line message gives one
 * such line per line, so that every line of the log can be filtered by time or level.
 */
export function formatLogLines(time: Date, level: LogLevel, message: string): string {
  const prefix = `${time.toISOString()} ${level.toUpperCase().padEnd(5)} `;
  return message
    .split(/\r?\n/)
    .map((line) => `${prefix}${line}`.trimEnd())
    .join('\n')
    .concat('\n');
}

/** Appends timestamped lines to run.log, synchronously, so that what was logged before a crash is on disk. */
export class RunLogger {
  /** `clock` is injectable for tests; the default is the wall clock. */
  constructor(
    readonly path: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw outputError(error, dirname(path));
    }
  }

  log(message: string, level: LogLevel = 'info'): void {
    try {
      appendFileSync(this.path, formatLogLines(this.clock(), level, message), 'utf8');
    } catch (error) {
      throw outputError(error, this.path);
    }
  }

  info(message: string): void {
    this.log(message, 'info');
  }

  warn(message: string): void {
    this.log(message, 'warn');
  }

  /**
   * Logs the error that stops a run. When the log cannot take it (often the
   * full disk that stopped the run), that is not raised: the caller goes on
   * to raise the error itself, which says more than a failure to log it.
   */
  error(message: string): void {
    try {
      this.log(message, 'error');
    } catch (error) {
      if (!(error instanceof OutputError)) throw error;
    }
  }
}
