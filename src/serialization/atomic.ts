// Atomic file writes: data goes to a temporary file in the same directory,
// is flushed to disk, and is then renamed over the target. A crash at any
// point leaves either the old file or the new one, never a half-written file.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { outputError } from './write_errors.js';

/** Writes `data` to `path` atomically, making its directory first; filesystem failures are OutputErrors naming `path`. */
export function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw outputError(error, dir);
  }
  try {
    writeThroughTemporary(path, dir, data);
  } catch (error) {
    // The user is told about the file they know, not the temporary one.
    throw outputError(error, path);
  }
}

function writeThroughTemporary(path: string, dir: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  const temp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'w', 0o644);
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.byteLength) written += writeSync(fd, chunk, written);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  // Make the rename itself durable.
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
