import type { SFTPWrapper, Stats } from "ssh2";
import { type BoundedReadOptions, readRest, type SequentialRead } from "../shared/bounded-read.js";

/**
 * File operations over SFTP, on the connection's one SFTP session: no process
 * per operation, binary-safe, modes applied exactly with fchmod. Reads and writes
 * keep several requests in flight (SFTP answers each in order), so throughput
 * does not collapse with latency.
 */

const CHUNK = 64 * 1024;
const IN_FLIGHT = 16;

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const EOF_STATUS = 1;
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

interface SftpError extends Error {
  code?: number | string;
}

/** The errno name an SFTP status stands for (OpenSSH maps errno to these three). */
export function sftpCode(error: unknown): string {
  const code = (error as SftpError).code;
  if (code === NO_SUCH_FILE) return "ENOENT";
  if (code === PERMISSION_DENIED) return "EACCES";
  return "EIO";
}

export function call<T>(
  fn: (callback: (error: Error | undefined | null, value: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((error, value) => (error ? reject(error) : resolve(value)));
  });
}

export function stat(sftp: SFTPWrapper, path: string): Promise<Stats> {
  return call((callback) => sftp.stat(path, callback));
}

export function lstat(sftp: SFTPWrapper, path: string): Promise<Stats> {
  return call((callback) => sftp.lstat(path, callback));
}

export function close(sftp: SFTPWrapper, handle: Buffer): Promise<void> {
  return call<void>((callback) => sftp.close(handle, (error) => callback(error, undefined)));
}

/** Runs `count` tasks with at most IN_FLIGHT at a time. */
async function pooled(count: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
}

function readAt(
  sftp: SFTPWrapper,
  handle: Buffer,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number,
) {
  return new Promise<number>((resolve, reject) => {
    sftp.read(handle, buffer, offset, length, position, (error, bytesRead) => {
      // ssh2 reports EOF as an error with code 1 (SSH_FX_EOF).
      if (error && (error as SftpError).code !== EOF_STATUS) reject(error);
      else resolve(error ? 0 : bytesRead);
    });
  });
}

/**
 * Reads a whole file, at most `bounds.maxBytes`. The size fstat claims is only
 * a hint: more than `maxBytes` is refused before anything is read (a hostile
 * or broken server cannot make us allocate what it claims); the claimed size
 * is read in parallel chunks, then reading continues until EOF (files in /proc
 * claim 0, a file may grow, a device never ends) or one byte past the cap.
 */
export async function readWholeFile(
  sftp: SFTPWrapper,
  path: string,
  bounds: BoundedReadOptions,
): Promise<Buffer> {
  const handle = await call<Buffer>((callback) => sftp.open(path, "r", callback));
  try {
    const info = await call<Stats>((callback) => sftp.fstat(handle, callback));
    if (info.isDirectory()) throw Object.assign(new Error("is a directory"), { errno: "EISDIR" });
    const size = info.size;
    if (!(size >= 0)) throw new Error(`the server claims a size of ${size}`);
    if (size > bounds.maxBytes) throw bounds.tooLarge();
    // Shrunk while reading (undefined): read again from the start.
    const start = (size > 0 && (await readClaimed(sftp, handle, size))) || Buffer.alloc(0);
    let position = start.length;
    const read: SequentialRead = async (buffer, offset, length) => {
      const count = await readAt(sftp, handle, buffer, offset, length, position);
      position += count;
      return count;
    };
    return await readRest(read, start, bounds);
  } finally {
    await close(sftp, handle).catch(() => {});
  }
}

/**
 * The first `size` bytes (at most the cap: checked before), read in parallel
 * chunks; `undefined` if the file turned out shorter.
 */
async function readClaimed(
  sftp: SFTPWrapper,
  handle: Buffer,
  size: number,
): Promise<Buffer | undefined> {
  const buffer = Buffer.allocUnsafe(size);
  let short = false;
  await pooled(Math.ceil(size / CHUNK), async (index) => {
    const offset = index * CHUNK;
    const length = Math.min(CHUNK, size - offset);
    for (let done = 0; done < length && !short; ) {
      const read = await readAt(sftp, handle, buffer, offset + done, length - done, offset + done);
      if (read === 0) short = true;
      done += read;
    }
  });
  return short ? undefined : buffer;
}

/** Creates or truncates `path`, sets `mode` exactly (fchmod) before any data, writes `data`. */
export async function writeWholeFile(
  sftp: SFTPWrapper,
  path: string,
  data: Buffer,
  mode: number | undefined,
): Promise<void> {
  const handle = await call<Buffer>((callback) =>
    mode === undefined ? sftp.open(path, "w", callback) : sftp.open(path, "w", { mode }, callback),
  );
  try {
    if (mode !== undefined)
      await call<void>((callback) =>
        sftp.fchmod(handle, mode, (error) => callback(error, undefined)),
      );
    const chunks = Math.ceil(data.length / CHUNK);
    await pooled(chunks, (index) =>
      call<void>((callback) => {
        const offset = index * CHUNK;
        sftp.write(handle, data, offset, Math.min(CHUNK, data.length - offset), offset, (error) =>
          callback(error, undefined),
        );
      }),
    );
  } finally {
    await close(sftp, handle).catch(() => {});
  }
}

export function unlink(sftp: SFTPWrapper, path: string): Promise<void> {
  return call<void>((callback) => sftp.unlink(path, (error) => callback(error, undefined)));
}

export function rmdir(sftp: SFTPWrapper, path: string): Promise<void> {
  return call<void>((callback) => sftp.rmdir(path, (error) => callback(error, undefined)));
}

/** Whether a directory has entries (to tell ENOTEMPTY from other SFTP failures). */
export async function hasEntries(sftp: SFTPWrapper, path: string): Promise<boolean> {
  const entries = await call<unknown[]>((callback) => sftp.readdir(path, callback));
  return entries.length > 0;
}

/** Creates a directory with `mode` (the server's umask still applies). */
export function mkdir(sftp: SFTPWrapper, path: string, mode: number): Promise<void> {
  return call<void>((callback) =>
    sftp.mkdir(path, { mode }, (error) => callback(error, undefined)),
  );
}

/**
 * Sets `path`'s permission bits with OpenSSH's `lsetstat@openssh.com`, which
 * does not follow a symlink put at `path` meanwhile. Rejects when the server
 * does not offer it, or cannot do it (glibc before 2.32 refuses every
 * `fchmodat` that does not follow).
 */
export function chmodNoFollow(sftp: SFTPWrapper, path: string, mode: number): Promise<void> {
  return call<void>((callback) =>
    sftp.ext_openssh_lsetstat(path, { mode }, (error) => callback(error, undefined)),
  );
}

/** Sets `path`'s permission bits with SFTP's `setstat` (chmod: follows a symlink). */
export function chmod(sftp: SFTPWrapper, path: string, mode: number): Promise<void> {
  return call<void>((callback) =>
    sftp.setstat(path, { mode }, (error) => callback(error, undefined)),
  );
}

export interface RawEntry {
  filename: string;
  attrs: Stats;
}

/**
 * A directory's entries without `.` and `..`, read in the server's batches;
 * `onBatch` sees the count so far and may throw to stop (the handle is closed).
 */
export async function readEntries(
  sftp: SFTPWrapper,
  path: string,
  onBatch: (count: number) => void,
): Promise<RawEntry[]> {
  const handle = await call<Buffer>((callback) => sftp.opendir(path, callback));
  const entries: RawEntry[] = [];
  try {
    for (;;) {
      const batch = await new Promise<RawEntry[] | undefined>((resolve, reject) => {
        sftp.readdir(handle, (error, list) => {
          if (error && (error as SftpError).code === EOF_STATUS) resolve(undefined);
          else if (error) reject(error);
          else resolve(list as RawEntry[]);
        });
      });
      if (!batch) return entries;
      entries.push(...batch);
      onBatch(entries.length);
    }
  } finally {
    await close(sftp, handle).catch(() => {});
  }
}

/**
 * Renames with OpenSSH's `posix-rename@openssh.com` (rename(2): atomic,
 * replaces an existing target); a server without it gets SFTP's own rename,
 * which refuses an existing target.
 */
export function rename(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  return call<void>((callback) => {
    const done = (error: Error | undefined | null) => callback(error, undefined);
    try {
      sftp.ext_openssh_rename(from, to, done);
    } catch {
      sftp.rename(from, to, done);
    }
  });
}
