// A run that a filesystem error (a full disk, a directory made read-only)
// stops after it started keeps its checkpoints, so it can be continued once
// the cause is fixed; the error says how.
import { OutputError } from '../../serialization/write_errors.js';

/** `error` with the command that continues the run in `runDir` when it is an OutputError; any other error unchanged. */
export function withResumeHint(error: unknown, runDir: string): unknown {
  if (!(error instanceof OutputError)) return error;
  return new OutputError(`${error.message}\nthe run in ${runDir} stopped; once that is fixed, continue it with: perennial run --resume ${runDir}`, error.path, error.code, { cause: error.cause });
}
