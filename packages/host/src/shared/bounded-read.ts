/**
 * Reading a whole file with a cap, the same for both transports: what a file
 * (or an SFTP server) claims about its size is only a hint, never what is
 * allocated; past the cap the read stops with the caller's error.
 */

/** `readFile`'s default `maxBytes`. */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

/** What is read at once past the size a file claims (files in /proc claim 0). */
const CHUNK = 64 * 1024;

/** Reads at most `length` bytes into `buffer` at `offset`, continuing where the last read ended; 0 at the end. */
export type SequentialRead = (buffer: Buffer, offset: number, length: number) => Promise<number>;

export interface BoundedReadOptions {
  maxBytes: number;
  /** The error past `maxBytes`. */
  tooLarge: () => Error;
  /** Throws if the call was stopped (checked between reads). */
  throwIfStopped: () => void;
}

/**
 * Fills a new buffer of `size` bytes (at most `maxBytes`: check the claimed
 * size first) through `read`; shorter if the end comes first.
 */
export async function readHead(
  read: SequentialRead,
  size: number,
  options: BoundedReadOptions,
): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(Math.min(size, options.maxBytes));
  let filled = 0;
  while (filled < buffer.length) {
    options.throwIfStopped();
    const count = await read(buffer, filled, buffer.length - filled);
    if (count === 0) break;
    filled += count;
  }
  return filled === buffer.length ? buffer : buffer.subarray(0, filled);
}

/**
 * Reads on through `read` until the end, after `head` (what was read already),
 * and returns everything. One byte more than `maxBytes` in all throws
 * `tooLarge()`: memory stays within `maxBytes` plus one chunk, however small
 * the reads the other side answers (each is copied out of one scratch buffer).
 */
export async function readRest(
  read: SequentialRead,
  head: Buffer,
  options: BoundedReadOptions,
): Promise<Buffer> {
  if (head.length > options.maxBytes) throw options.tooLarge();
  const parts = [head];
  let total = head.length;
  const scratch = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    options.throwIfStopped();
    // One byte past the cap is enough to know.
    const length = Math.min(CHUNK, options.maxBytes + 1 - total);
    const count = await read(scratch, 0, length);
    if (count === 0) return parts.length === 1 ? head : Buffer.concat(parts, total);
    total += count;
    if (total > options.maxBytes) throw options.tooLarge();
    parts.push(Buffer.from(scratch.subarray(0, count)));
  }
}
