/** `putFile` over SFTP: a local file streamed to a temporary file beside the target, then renamed. */
import type { Deadline } from "@qemu-kvm/core";
import type { SFTPWrapper } from "ssh2";
import type { LocalSource } from "../shared/local-source.js";
import { temporaryPath } from "../shared/paths.js";
import { call, close, rename, stat, unlink } from "./sftp.js";
import { type SftpHost, sftpCall } from "./ssh-files.js";

/** Writes in flight at once: SFTP answers them in order, so latency does not cap throughput. */
const IN_FLIGHT = 16;

/** After a stop: how long the copy may take to remove its temporary file before the call rejects. */
const CLEANUP_MS = 5000;

function writeAt(sftp: SFTPWrapper, handle: Buffer, chunk: Buffer, position: number) {
  return call<void>((callback) =>
    sftp.write(handle, chunk, 0, chunk.length, position, (error) => callback(error, undefined)),
  );
}

/**
 * Writes the source's chunks at their offsets, `IN_FLIGHT` at a time (so at
 * most that many chunks are in memory), and returns the bytes written. Stops
 * at the first failure or when the deadline stops, once every write sent has
 * been answered.
 */
async function writeChunks(
  sftp: SFTPWrapper,
  handle: Buffer,
  source: LocalSource,
  deadline: Deadline,
): Promise<number> {
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let position = 0;
  try {
    for await (const chunk of source.chunks()) {
      deadline.throwIfStopped();
      if (failure) break;
      const write = writeAt(sftp, handle, chunk, position).catch((error: unknown) => {
        failure ??= { error };
      });
      inFlight.add(write);
      void write.then(() => inFlight.delete(write));
      position += chunk.length;
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
  } finally {
    await Promise.all(inFlight);
  }
  if (failure) throw failure.error;
  return position;
}

async function copy(
  sftp: SFTPWrapper,
  source: LocalSource,
  path: string,
  mode: number | undefined,
  deadline: Deadline,
): Promise<number> {
  const temporary = temporaryPath(path);
  // "wx": created exclusively, never someone else's file.
  const handle = await call<Buffer>((callback) =>
    sftp.open(temporary, "wx", mode === undefined ? {} : { mode }, callback),
  );
  let open = true;
  try {
    if (mode !== undefined)
      await call<void>((callback) =>
        sftp.fchmod(handle, mode, (error) => callback(error, undefined)),
      );
    const bytes = await writeChunks(sftp, handle, source, deadline);
    open = false;
    await close(sftp, handle);
    deadline.throwIfStopped();
    await rename(sftp, temporary, path);
    return bytes;
  } catch (error) {
    if (open) await close(sftp, handle).catch(() => {});
    await unlink(sftp, temporary).catch(() => {});
    throw error;
  }
}

export function putFileOver(
  host: SftpHost,
  source: LocalSource,
  path: string,
  mode: number | undefined,
  deadline: Deadline,
): Promise<number> {
  return sftpCall(
    host,
    "putFile",
    path,
    deadline,
    (sftp) => copy(sftp, source, path, mode, deadline),
    // SFTP says only "failure": tell a directory in the way apart.
    async (_error, sftp) => {
      const isDirectory = await stat(sftp, path).then(
        (info) => info.isDirectory(),
        () => false,
      );
      return isDirectory ? { systemCode: "EISDIR" } : undefined;
    },
    CLEANUP_MS,
  );
}
