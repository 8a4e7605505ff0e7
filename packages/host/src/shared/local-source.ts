import { type FileHandle, open } from "node:fs/promises";
import type { Deadline } from "@qemu-kvm/core";
import { HostSystemError } from "../errors/host-errors.js";
import { LOCAL, systemError } from "../local/local-errors.js";

/** Bytes read from the local file at once (and so written to the host at once). */
export const COPY_CHUNK = 64 * 1024;

/** The local file `putFile` copies: open, a regular file. */
export interface LocalSource {
  readonly path: string;
  readonly size: number;
  /**
   * Its bytes from the start, in chunks of at most `COPY_CHUNK`, one read at a
   * time (memory stays bounded). A read failure is `ERR_HOST_SYSTEM` of the
   * local host.
   */
  chunks(): AsyncGenerator<Buffer>;
  close(): Promise<void>;
}

/**
 * Opens the local file `path` for `putFile`. Failures are `ERR_HOST_SYSTEM` of
 * the local host (`host: "local"`: the file is on this machine whatever the
 * target): `ENOENT`, `EACCES`, `EISDIR`, `EINVAL` (not a regular file).
 */
export async function openLocalSource(path: string, deadline: Deadline): Promise<LocalSource> {
  let handle: FileHandle;
  try {
    handle = await deadline.race(open(path, "r"), (late) => void late.close());
  } catch (error) {
    if (deadline.stopped) throw error;
    throw systemError("putFile", error, path);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw new HostSystemError({
        operation: "putFile",
        systemCode: info.isDirectory() ? "EISDIR" : "EINVAL",
        message: "the local source is not a regular file",
        host: LOCAL,
        path,
      });
    return {
      path,
      size: info.size,
      chunks: () => readChunks(handle, path),
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error instanceof HostSystemError ? error : systemError("putFile", error, path);
  }
}

async function* readChunks(handle: FileHandle, path: string): AsyncGenerator<Buffer> {
  for (let position = 0; ; ) {
    let bytesRead: number;
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    try {
      ({ bytesRead } = await handle.read(buffer, 0, COPY_CHUNK, position));
    } catch (error) {
      throw systemError("putFile", error, path);
    }
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}
