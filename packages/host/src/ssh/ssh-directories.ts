/**
 * The SSH host's operations on directories and paths by name, over the
 * connection's SFTP session: `makeDir`, `readDir`, `stat`, `rename`.
 */
import type { Deadline } from "@qemu-kvm/core";
import type { SFTPWrapper, Stats } from "ssh2";
import { HostSystemError, HostTooManyEntriesError } from "../errors/host-errors.js";
import type { DirEntry, FileStat, FileType } from "../host.js";
import { existingDirectoryProblem } from "../shared/make-dir.js";
import { parentOf } from "../shared/paths.js";
import type { SshConnection } from "./connection.js";
import {
  chmod,
  chmodNoFollow,
  lstat,
  mkdir,
  readEntries,
  readWholeFile,
  rename,
  sftpCode,
  stat,
} from "./sftp.js";
import { type SftpHost, sftpCall } from "./ssh-files.js";

/** File types by their `S_IFMT` bits (a Map: octal numbers as object keys are easy to mangle). */
const TYPES = new Map<number, FileType>([
  [0o100000, "file"],
  [0o040000, "directory"],
  [0o120000, "symlink"],
  [0o140000, "socket"],
]);

function typeOf(mode: number): FileType {
  return TYPES.get(mode & 0o170000) ?? "other";
}

function fileStat(info: Stats): FileStat {
  return {
    type: typeOf(info.mode),
    mode: info.mode & 0o7777,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    mtimeMs: info.mtime * 1000,
  };
}

/** /proc/self/status is a few KiB: a server that sends more is not believed. */
const STATUS_MAX_BYTES = 1024 * 1024;

/**
 * Our uid on the host: the SFTP server's own, from /proc/self/status (it runs
 * as us); `undefined` if it cannot be read (then no directory counts as ours).
 */
function remoteUid(sftp: SFTPWrapper, connection: SshConnection): Promise<number | undefined> {
  return connection
    .fact("uid", async () => {
      const status = await readWholeFile(sftp, "/proc/self/status", {
        maxBytes: STATUS_MAX_BYTES,
        tooLarge: () => new Error("/proc/self/status is too large"),
        throwIfStopped: () => {},
      });
      const match = /^Uid:\s+(\d+)/m.exec(status.toString("utf8"));
      return match ? Number(match[1]) : undefined;
    })
    .catch(() => undefined);
}

/** What a failed `makeDir` step tells: `ERR_HOST_SYSTEM` with `systemCode`. */
function refusal(host: SftpHost, systemCode: string, message: string, path: string) {
  return new HostSystemError({ operation: "makeDir", systemCode, message, host: host.name, path });
}

/** Throws unless `path` is (still) a directory, not a symlink or anything else put there meanwhile. */
async function checkDirectory(host: SftpHost, sftp: SFTPWrapper, path: string) {
  const made = await lstat(sftp, path);
  if (!made.isDirectory())
    throw refusal(host, "ELOOP", "was replaced by something else while it was made", path);
  return made;
}

/**
 * After a successful mkdir: the mode exactly, if the server's umask narrowed
 * it (never for 0700 with the usual umasks). `lsetstat` does not follow a
 * symlink put there meanwhile; without it (an older server or glibc), a
 * plain `setstat` after checking again that a directory is there.
 */
async function exactMode(host: SftpHost, sftp: SFTPWrapper, path: string, mode: number) {
  const made = await checkDirectory(host, sftp, path);
  if ((made.mode & 0o7777) === mode) return;
  try {
    await chmodNoFollow(sftp, path, mode);
  } catch {
    await checkDirectory(host, sftp, path);
    await chmod(sftp, path, mode);
  }
}

/** Creates the missing ancestors of `path`, each with `mode`; an existing one must be a directory. */
async function makeParents(host: SftpHost, sftp: SFTPWrapper, path: string, mode: number) {
  const parent = parentOf(path);
  if (parent === undefined) return;
  const info = await stat(sftp, parent).catch((error: unknown) => {
    // OpenSSH reports ENOTDIR as "no such file" too: a file on the way shows up one level up.
    if (sftpCode(error) === "ENOENT") return undefined;
    throw error;
  });
  if (info) {
    if (!info.isDirectory()) throw refusal(host, "ENOTDIR", "not a directory", parent);
    return;
  }
  await makeParents(host, sftp, parent, mode);
  try {
    await mkdir(sftp, parent, mode);
  } catch (error) {
    // Made meanwhile by someone else: fine if it is a directory.
    const again = await stat(sftp, parent).catch(() => undefined);
    if (!again?.isDirectory()) throw error;
    return;
  }
  await exactMode(host, sftp, parent, mode);
}

export function makeDirOver(
  host: SftpHost,
  path: string,
  mode: number,
  parents: boolean,
  deadline: Deadline,
): Promise<void> {
  return sftpCall(host, "makeDir", path, deadline, async (sftp, connection) => {
    if (parents) await makeParents(host, sftp, path, mode);
    try {
      await mkdir(sftp, path, mode);
    } catch (error) {
      // SFTP says "failure" for EEXIST: look at what is there.
      if (sftpCode(error) !== "EIO") throw error;
      const existing = await lstat(sftp, path).catch(() => undefined);
      if (!existing) throw error;
      const uid = parents ? await remoteUid(sftp, connection) : undefined;
      const problem = existingDirectoryProblem(fileStat(existing), mode, parents, uid);
      if (problem) throw refusal(host, problem.systemCode, problem.message, path);
      return;
    }
    await exactMode(host, sftp, path, mode);
  });
}

export function readDirOver(
  host: SftpHost,
  path: string,
  maxEntries: number,
  deadline: Deadline,
): Promise<DirEntry[]> {
  return sftpCall(
    host,
    "readDir",
    path,
    deadline,
    async (sftp) => {
      const raw = await readEntries(sftp, path, (count) => {
        deadline.throwIfStopped();
        if (count > maxEntries)
          throw new HostTooManyEntriesError({ path, maxEntries, host: host.name });
      });
      return Promise.all(
        raw.map(async ({ filename, attrs }) => ({
          name: filename,
          // OpenSSH sends each entry's lstat; a server that does not: ask.
          type: typeOf(attrs.mode ?? (await lstat(sftp, `${path}/${filename}`)).mode),
        })),
      );
    },
    // OpenSSH reports ENOTDIR as "no such file": tell them apart.
    async (error, sftp) => {
      if (sftpCode(error) !== "ENOENT") return undefined;
      const info = await stat(sftp, path).catch(() => undefined);
      return info && !info.isDirectory() ? { systemCode: "ENOTDIR" } : undefined;
    },
  );
}

export function statOver(
  host: SftpHost,
  path: string,
  deadline: Deadline,
): Promise<FileStat | undefined> {
  return sftpCall(
    host,
    "stat",
    path,
    deadline,
    async (sftp) => fileStat(await lstat(sftp, path)),
    async (error) => (sftpCode(error) === "ENOENT" ? { value: undefined } : undefined),
  );
}

export function renameOver(
  host: SftpHost,
  from: string,
  to: string,
  deadline: Deadline,
): Promise<void> {
  return sftpCall(host, "rename", from, deadline, (sftp) => rename(sftp, from, to));
}
