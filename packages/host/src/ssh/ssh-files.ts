/**
 * The file operations of the SSH host, on the connection's one SFTP session,
 * and the one place where their failures are mapped to the host's errors.
 */
import { type Deadline, QemuKvmError } from "@qemu-kvm/core";
import type { SFTPWrapper } from "ssh2";
import { HostFileTooLargeError, HostSystemError } from "../errors/host-errors.js";
import { DEFAULT_MAX_FILE_BYTES } from "../shared/bounded-read.js";
import { settlesWithin } from "../shared/process-base.js";
import type { SshConnection } from "./connection.js";
import { sessionFailure } from "./remote-command.js";
import {
  hasEntries,
  lstat,
  readWholeFile,
  rmdir,
  sftpCode,
  stat,
  unlink,
  writeWholeFile,
} from "./sftp.js";

/** What the file operations need of the host: its name and its live connection. */
export interface SftpHost {
  readonly name: string;
  live(deadline: Deadline): Promise<SshConnection>;
}

/**
 * What to do with an SFTP failure: resolve with `value` instead (a missing
 * file is fine), or report it with a finer `systemCode` than SFTP gives.
 */
export type Recovery<T> = { value: T } | { systemCode: string } | undefined;

/**
 * Runs `work` on the connection's SFTP session within `deadline`. A stop or a
 * lost connection passes through (the host reports them); a refused SFTP
 * session and every SFTP failure become `ERR_HOST_SYSTEM` for `operation` on
 * `path`, unless `recover` resolves the call or refines the `systemCode`; a
 * coded error `work` throws passes through.
 */
export async function sftpCall<T>(
  host: SftpHost,
  operation: string,
  path: string,
  deadline: Deadline,
  work: (sftp: SFTPWrapper, connection: SshConnection) => Promise<T>,
  recover?: (error: unknown, sftp: SFTPWrapper) => Promise<Recovery<T>>,
  /** When the deadline stops: how long `work` may take to clean up (it sees the stop) before the call rejects. */
  cleanupMs = 0,
): Promise<T> {
  const systemError = (error: unknown, systemCode = sftpCode(error)) =>
    new HostSystemError({
      operation,
      systemCode,
      message: (error as Error).message,
      host: host.name,
      path,
      cause: error,
    });
  const connection = await host.live(deadline);
  const sftp = await deadline.race(connection.sftp()).catch((error: unknown) => {
    throw sessionFailure(error, (refusal) => systemError(refusal, "EIO"));
  });
  const working = connection.guard(work(sftp, connection));
  try {
    return await deadline.race(working);
  } catch (error) {
    if (deadline.stopped && cleanupMs > 0) await settlesWithin(working, cleanupMs);
    // Stopped, lost, or already coded (`work` refused with a finer error): as is.
    if (deadline.stopped || connection.lostError || !(error instanceof Error)) throw error;
    if (QemuKvmError.isInstance(error)) throw error;
    const recovery = await recover?.(error, sftp);
    if (recovery && "value" in recovery) return recovery.value;
    throw systemError(error, recovery?.systemCode);
  }
}

/** The bounds of a whole-file read of `path` within `deadline`. */
function bounds(host: SftpHost, path: string, maxBytes: number, deadline: Deadline) {
  return {
    maxBytes,
    tooLarge: () => new HostFileTooLargeError({ path, maxBytes, host: host.name }),
    throwIfStopped: () => deadline.throwIfStopped(),
  };
}

export function readFileOver(
  host: SftpHost,
  path: string,
  maxBytes: number,
  deadline: Deadline,
): Promise<Buffer> {
  return sftpCall(
    host,
    "readFile",
    path,
    deadline,
    (sftp) => readWholeFile(sftp, path, bounds(host, path, maxBytes, deadline)),
    async (error) =>
      (error as { errno?: string }).errno === "EISDIR" ? { systemCode: "EISDIR" } : undefined,
  );
}

export function writeFileOver(
  host: SftpHost,
  path: string,
  data: Buffer,
  mode: number | undefined,
  deadline: Deadline,
): Promise<void> {
  return sftpCall(
    host,
    "writeFile",
    path,
    deadline,
    (sftp) => writeWholeFile(sftp, path, data, mode),
    // SFTP says only "failure": tell a directory apart.
    async (_error, sftp) => {
      const isDirectory = await stat(sftp, path).then(
        (info) => info.isDirectory(),
        () => false,
      );
      return isDirectory ? { systemCode: "EISDIR" } : undefined;
    },
  );
}

export function existsOver(host: SftpHost, path: string, deadline: Deadline): Promise<boolean> {
  return sftpCall(
    host,
    "exists",
    path,
    deadline,
    async (sftp) => {
      await stat(sftp, path);
      return true;
    },
    async (error) => (sftpCode(error) === "ENOENT" ? { value: false } : undefined),
  );
}

/** A /proc file's bytes, or `undefined` once the process is gone. */
export function readProcFileOver(
  host: SftpHost,
  path: string,
  deadline: Deadline,
): Promise<Buffer | undefined> {
  return sftpCall(
    host,
    "processInfo",
    path,
    deadline,
    (sftp) => readWholeFile(sftp, path, bounds(host, path, DEFAULT_MAX_FILE_BYTES, deadline)),
    // A process that exits while it is read: its files vanish, or fail to read.
    async (error, sftp) => {
      if (sftpCode(error) === "ENOENT") return { value: undefined };
      const stillThere = await stat(sftp, path).then(
        () => true,
        () => false,
      );
      return stillThere ? undefined : { value: undefined };
    },
  );
}

/**
 * Removes a file, symlink or empty directory over SFTP; a directory with
 * `recursive` through `removeTree` (a command). A missing path is fine.
 */
export async function removeOver(
  host: SftpHost,
  path: string,
  recursive: boolean,
  deadline: Deadline,
  removeTree: () => Promise<void>,
): Promise<void> {
  const info = await sftpCall(
    host,
    "remove",
    path,
    deadline,
    (sftp) => lstat(sftp, path),
    async (error) => (sftpCode(error) === "ENOENT" ? { value: undefined } : undefined),
  );
  if (!info) return;
  if (info.isDirectory() && recursive) return removeTree();
  await sftpCall(
    host,
    "remove",
    path,
    deadline,
    (sftp) => (info.isDirectory() ? rmdir(sftp, path) : unlink(sftp, path)),
    async (error, sftp) => {
      if (sftpCode(error) === "ENOENT") return { value: undefined };
      const notEmpty = info.isDirectory() && (await hasEntries(sftp, path).catch(() => false));
      return notEmpty ? { systemCode: "ENOTEMPTY" } : undefined;
    },
  );
}
