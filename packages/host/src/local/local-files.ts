/**
 * The local host's operations on directories and files by name: `readFile`,
 * `makeDir`, `readDir`, `stat`, `rename`, `putFile`. Failures are
 * `ERR_HOST_SYSTEM` with the errno name.
 */
import { constants, type Dirent, type Stats } from "node:fs";
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  opendir,
  rename,
  stat,
  unlink,
} from "node:fs/promises";
import { join } from "node:path";
import type { Deadline } from "@qemu-kvm/core";
import {
  HostFileTooLargeError,
  HostSystemError,
  HostTooManyEntriesError,
} from "../errors/host-errors.js";
import type { DirEntry, FileStat, FileType } from "../host.js";
import { readHead, readRest, type SequentialRead } from "../shared/bounded-read.js";
import type { LocalSource } from "../shared/local-source.js";
import { existingDirectoryProblem } from "../shared/make-dir.js";
import { parentOf, temporaryPath } from "../shared/paths.js";
import { errnoOf, LOCAL, systemError } from "./local-errors.js";

/**
 * Reads `path` whole, at most `maxBytes`: a regular file that claims more is
 * refused before anything is read; anything else (a device, a FIFO, /proc) is
 * read on until its end or one byte past `maxBytes`.
 */
export async function readFileLocal(
  path: string,
  maxBytes: number,
  deadline: Deadline,
): Promise<Buffer> {
  let handle: FileHandle | undefined;
  try {
    handle = await deadline.race(open(path, "r"), (late) => void late.close());
    const opened = handle;
    const info = await opened.stat();
    const bounds = {
      maxBytes,
      tooLarge: () => new HostFileTooLargeError({ path, maxBytes, host: LOCAL }),
      throwIfStopped: () => deadline.throwIfStopped(),
    };
    if (info.isFile() && info.size > maxBytes) throw bounds.tooLarge();
    // Sequential reads (position null): a FIFO or a character device cannot seek.
    // Raced: a FIFO's writer that never writes (nor closes) must not hold the call.
    const read: SequentialRead = async (buffer, offset, length) =>
      (await deadline.race(opened.read(buffer, offset, length, null))).bytesRead;
    const head = info.isFile() ? await readHead(read, info.size, bounds) : Buffer.alloc(0);
    return await readRest(read, head, bounds);
  } catch (error) {
    if (deadline.stopped || error instanceof HostFileTooLargeError) throw error;
    throw systemError("readFile", error, path);
  } finally {
    // A read still pending (a stuck FIFO) holds the close until it ends: not the call.
    const closing = handle?.close().catch(() => {});
    if (!deadline.stopped) await closing;
  }
}

function refusal(operation: string, systemCode: string, message: string, path: string) {
  return new HostSystemError({ operation, systemCode, message, host: LOCAL, path });
}

/** Sets a directory's mode exactly without following a symlink (open O_NOFOLLOW, fchmod). */
async function setDirectoryMode(path: string, mode: number): Promise<void> {
  const handle = await open(
    path,
    constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
  );
  try {
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/** Creates the missing ancestors of `path`, each with `mode`; an existing one must be a directory. */
async function makeParents(path: string, mode: number): Promise<void> {
  const parent = parentOf(path);
  if (parent === undefined) return;
  const info = await stat(parent).catch((error: unknown) => {
    if (errnoOf(error) === "ENOENT") return undefined;
    throw error;
  });
  if (info) {
    if (!info.isDirectory()) throw refusal("makeDir", "ENOTDIR", "not a directory", parent);
    return;
  }
  await makeParents(parent, mode);
  try {
    await mkdir(parent, { mode });
    await setDirectoryMode(parent, mode);
  } catch (error) {
    // Made meanwhile by someone else: fine if it is a directory.
    if (errnoOf(error) !== "EEXIST" || !(await stat(parent)).isDirectory()) throw error;
  }
}

export async function makeDirLocal(path: string, mode: number, parents: boolean): Promise<void> {
  try {
    if (parents) await makeParents(path, mode);
    try {
      await mkdir(path, { mode });
    } catch (error) {
      if (errnoOf(error) !== "EEXIST") throw error;
      const info = await lstat(path);
      const problem = existingDirectoryProblem(fileStat(info), mode, parents, process.getuid?.());
      if (problem) throw refusal("makeDir", problem.systemCode, problem.message, path);
      return;
    }
    // mkdir's mode is masked by the umask: set it exactly.
    await setDirectoryMode(path, mode);
  } catch (error) {
    if (error instanceof HostSystemError) throw error;
    throw systemError("makeDir", error, path);
  }
}

function typeOf(entry: Dirent | Stats): FileType | undefined {
  if (entry.isFile()) return "file";
  if (entry.isDirectory()) return "directory";
  if (entry.isSymbolicLink()) return "symlink";
  if (entry.isSocket()) return "socket";
  if (entry.isFIFO() || entry.isBlockDevice() || entry.isCharacterDevice()) return "other";
  return undefined;
}

export function fileStat(info: Stats): FileStat {
  return {
    type: typeOf(info) ?? "other",
    mode: info.mode & 0o7777,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    mtimeMs: info.mtimeMs,
  };
}

export async function readDirLocal(
  path: string,
  maxEntries: number,
  deadline: Deadline,
): Promise<DirEntry[]> {
  const entries: DirEntry[] = [];
  try {
    const directory = await opendir(path);
    // Leaving the loop (done, too many, stopped) closes the directory.
    for await (const entry of directory) {
      if (entries.length >= maxEntries)
        throw new HostTooManyEntriesError({ path, maxEntries, host: LOCAL });
      if (entries.length % 1024 === 0) deadline.throwIfStopped();
      // A file system that does not give types (DT_UNKNOWN): ask.
      const type = typeOf(entry) ?? typeOf(await lstat(join(path, entry.name))) ?? "other";
      entries.push({ name: entry.name, type });
    }
    return entries;
  } catch (error) {
    if (deadline.stopped || error instanceof HostTooManyEntriesError) throw error;
    throw systemError("readDir", error, path);
  }
}

export async function statLocal(path: string): Promise<FileStat | undefined> {
  try {
    return fileStat(await lstat(path));
  } catch (error) {
    const code = errnoOf(error);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw systemError("stat", error, path);
  }
}

export async function renameLocal(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    throw systemError("rename", error, from);
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  for (let done = 0; done < chunk.length; ) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Copies `source` to `path`: a new file beside it (created exclusively, `mode`
 * set exactly before any data), then renamed over it. On any failure, or when
 * the deadline stops, the temporary file is removed before it rejects.
 */
export async function putFileLocal(
  source: LocalSource,
  path: string,
  mode: number | undefined,
  deadline: Deadline,
): Promise<number> {
  const temporary = temporaryPath(path);
  let handle: FileHandle | undefined;
  let created = false;
  try {
    // "wx": created exclusively, never someone else's file.
    handle = await open(temporary, "wx", mode ?? 0o666);
    created = true;
    if (mode !== undefined) await handle.chmod(mode);
    let bytes = 0;
    for await (const chunk of source.chunks()) {
      deadline.throwIfStopped();
      await writeAll(handle, chunk, bytes);
      bytes += chunk.length;
    }
    await handle.close();
    handle = undefined;
    deadline.throwIfStopped();
    await rename(temporary, path);
    return bytes;
  } catch (error) {
    await handle?.close().catch(() => {});
    if (created) await unlink(temporary).catch(() => {});
    if (deadline.stopped || error instanceof HostSystemError) throw error;
    throw systemError("putFile", error, path);
  }
}
