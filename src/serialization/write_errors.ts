// Filesystem errors of writing results, said plainly. Node reports them
// tersely and sometimes misleadingly: a recursive mkdir on a read-only file
// system fails with `ENOENT: no such file or directory, mkdir ...` (it names
// the directory it could not make, not why), a full disk is a bare `ENOSPC`,
// and an atomic write's failure names its temporary file. OutputError names
// the real cause, the file or directory meant, and what to do about it.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Writing a file or making a directory failed for a reason outside the program (permissions, space, a file in the way). */
export class OutputError extends Error {
  constructor(
    message: string,
    /** The file or directory that could not be written. */
    readonly path: string,
    /** The errno code of the cause, e.g. 'EROFS'. */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutputError';
  }
}

/** What each errno means for a write, and what the user can do. */
const CAUSES: Readonly<Record<string, { reason: string; fix: string }>> = {
  EROFS: { reason: 'the file system is read-only', fix: 'write to a directory on a writable file system' },
  EACCES: { reason: 'permission denied', fix: 'make the directory writable or write elsewhere' },
  EPERM: { reason: 'operation not permitted', fix: 'make the directory writable or write elsewhere' },
  ENOSPC: { reason: 'no space left on the device', fix: 'free some space' },
  EDQUOT: { reason: 'the disk quota is exceeded', fix: 'free some space or raise the quota' },
  EISDIR: { reason: 'a directory is in the way', fix: 'move the directory away' },
  ENOTDIR: { reason: 'a file is in the way of a directory', fix: 'move the file away or write elsewhere' },
};

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/**
 * Why a directory cannot be made below its nearest existing ancestor: that
 * ancestor is a file, or it is not writable (read-only file system, no
 * permission). Undefined when the ancestor is a writable directory.
 */
function blockedBy(dir: string): { path: string; code: string } | undefined {
  let ancestor = resolve(dir);
  while (!existsSync(ancestor) && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor);
  if (!statSync(ancestor).isDirectory()) return { path: ancestor, code: 'ENOTDIR' };
  try {
    accessSync(ancestor, constants.W_OK);
    return undefined;
  } catch (error) {
    return isErrnoException(error) && error.code !== undefined ? { path: ancestor, code: error.code } : undefined;
  }
}

/**
 * `error` as an OutputError when it is a filesystem error of writing `path`
 * (a file, or with `syscall` 'mkdir' a directory); any other error unchanged.
 * `path` is what the caller meant to write, not a temporary file.
 */
export function outputError(error: unknown, path: string): unknown {
  if (!isErrnoException(error) || error instanceof OutputError) return error;
  const code = error.code!;
  const making = error.syscall === 'mkdir';
  if (making && (code === 'ENOENT' || code === 'ENOTDIR' || code in CAUSES)) {
    // A directory could not be made: the nearest existing ancestor says why
    // (recursive mkdir reports ENOENT for a read-only file system).
    const blocker = blockedBy(path);
    if (blocker !== undefined) {
      const { fix } = CAUSES[blocker.code] ?? { fix: 'write elsewhere' };
      const why =
        blocker.code === 'ENOTDIR'
          ? `${blocker.path} is a file, not a directory`
          : `${blocker.path} is not writable: ${CAUSES[blocker.code]?.reason ?? blocker.code}`;
      return new OutputError(`cannot create the directory ${path}: ${why} (${blocker.code}); ${fix}`, path, blocker.code, { cause: error });
    }
  }
  const cause = CAUSES[code];
  if (cause === undefined) return error;
  return new OutputError(`cannot ${making ? 'create the directory' : 'write'} ${path}: ${cause.reason} (${code}); ${cause.fix}`, path, code, { cause: error });
}
