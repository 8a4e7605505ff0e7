/**
 * The uncompressed kernel. Debian's vmlinuz is a bzImage whose payload is
 * xz-compressed; unpacking it costs about 3 s of boot under TCG. The ELF inside
 * has a PVH entry note, so QEMU's `-kernel` boots it directly.
 */
import { open, readFile } from "node:fs/promises";
import { isElf64 } from "./elf.js";
import { GuestBuildError, GuestCommandError } from "./errors.js";
import { runCommandToFile } from "./run-command.js";

/** The xz stream header magic. */
export const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** Offset of the first xz stream in a bzImage, or -1. Pure. */
export function findXzPayload(image: Buffer): number {
  return image.indexOf(XZ_MAGIC);
}

export interface ExtractOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Writes the ELF vmlinux inside `vmlinuzPath` to `vmlinuxPath` (host `xz` decompresses). */
export async function extractVmlinux(
  vmlinuzPath: string,
  vmlinuxPath: string,
  options: ExtractOptions = {},
): Promise<void> {
  const image = await readFile(vmlinuzPath);
  const offset = findXzPayload(image);
  if (offset < 0)
    throw new GuestBuildError(`${vmlinuzPath} has no xz payload: not a Debian amd64 kernel?`);
  try {
    await runCommandToFile("xz", ["--decompress", "--stdout", "--single-stream"], vmlinuxPath, {
      ...options,
      input: image.subarray(offset),
    });
  } catch (error) {
    if (error instanceof GuestCommandError && error.exitCode === null && error.signal === null)
      throw new GuestBuildError("`xz` is needed to unpack the kernel: apt-get install xz-utils", {
        cause: error,
      });
    throw error;
  }
  const head = Buffer.alloc(64);
  const file = await open(vmlinuxPath);
  try {
    await file.read(head, 0, 64, 0);
  } finally {
    await file.close();
  }
  if (!isElf64(head))
    throw new GuestBuildError(`the payload of ${vmlinuzPath} is not an ELF kernel`);
}
