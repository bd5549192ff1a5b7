// One process per run directory. A run or resume holds `run.lock` in its
// directory: the file says who holds it (pid, host, start time, for the
// message that refuses a second process), and an exclusive flock on it is the
// lock itself. The kernel arbitrates simultaneous starts and drops the lock of
// a process that dies, however it dies, so a lock file left behind by a killed
// run is stale by construction: the next run takes it over and says so.
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { native } from '../../tensor/native.js';

export const RUN_LOCK_FILE = 'run.lock';

/** Who holds (or held) a run directory's lock. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time at which the lock was taken. */
  startedAt: string;
}

/** A run directory that cannot be used as asked: nothing was run and nothing in it changed. */
export class RunDirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunDirectoryError';
  }
}

/** Another process holds the run directory's lock. */
export class RunLockedError extends RunDirectoryError {
  constructor(
    readonly runDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder === undefined ? 'another process' : `another perennial process (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`;
    super(`the run directory ${runDir} is in use by ${who}; wait for it to end, or stop it, before running or resuming this run`);
    this.name = 'RunLockedError';
  }
}

// flock lives in the addon (Node has none); typed here, where it is used.
const binding = native as unknown as { tryLockFile(fd: number): boolean };

function readHolder(fd: number): LockHolder | undefined {
  const size = fstatSync(fd).size;
  if (size === 0) return undefined;
  const buffer = Buffer.alloc(size);
  const read = readSync(fd, buffer, 0, size, 0);
  try {
    const value = JSON.parse(buffer.subarray(0, read).toString('utf8')) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.startedAt === 'string') return { pid: value.pid, host: value.host, startedAt: value.startedAt };
  } catch {
    // Unreadable details: the holder is reported without them.
  }
  return undefined;
}

/** Whether the open file `fd` is the file now at `path`. */
function isFileAt(fd: number, path: string): boolean {
  const open = fstatSync(fd);
  const current = statSync(path, { throwIfNoEntry: false });
  return current !== undefined && current.ino === open.ino && current.dev === open.dev;
}

export class RunLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    /** The details a process that ended without releasing the lock left in it. */
    readonly reclaimedFrom: LockHolder | undefined,
  ) {}

  /** Takes the lock of `runDir` (which must exist), or throws RunLockedError. */
  static acquire(runDir: string): RunLock {
    const path = join(runDir, RUN_LOCK_FILE);
    for (;;) {
      const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
      try {
        if (!binding.tryLockFile(fd)) throw new RunLockedError(runDir, readHolder(fd));
        // The last holder unlinks the file before letting go, so the file
        // locked here may no longer be the one at `path`: then start over.
        if (!isFileAt(fd, path)) {
          closeSync(fd);
          continue;
        }
        const stale = readHolder(fd);
        const holder: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
        ftruncateSync(fd, 0);
        writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
        fsyncSync(fd);
        return new RunLock(path, fd, stale);
      } catch (error) {
        closeSync(fd);
        throw error;
      }
    }
  }

  /** Removes the lock file and lets go of the lock; a second call does nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    // Unlinked while still held, so that nobody can take a file about to
    // disappear; left alone if someone replaced it meanwhile.
    try {
      if (isFileAt(this.fd, this.path)) unlinkSync(this.path);
    } finally {
      closeSync(this.fd);
    }
  }
}
