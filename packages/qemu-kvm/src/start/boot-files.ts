/**
 * Boot files for a VM on another machine: the kernel, initrd and read-only
 * disks named by local paths are copied to the host once, into a
 * content-addressed cache (`<base>/cache/<sha256>-<name>`), so the next start
 * copies nothing. A file is published by an atomic rename: a cache entry that
 * exists is whole.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import type { VmSpec } from "@qemu-kvm/bootline";
import type { CallOptions } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";

/** sha256 of a local file, streamed. */
async function sha256(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The cache path of a local file on `host`, copied there if it is not yet. */
async function cached(
  host: Host,
  cacheDir: string,
  localPath: string,
  options: CallOptions,
): Promise<string> {
  const digest = await sha256(localPath, options.signal);
  const name = basename(localPath)
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .slice(0, 64);
  const remote = `${cacheDir}/${digest}-${name}`;
  if (!(await host.exists(remote, options)))
    await host.putFile(localPath, remote, { ...options, mode: 0o600 });
  return remote;
}

/**
 * The spec with its local boot files replaced by their copies on `host`:
 * `kernel.path`, `kernel.initrdPath`, and the drives and pflash images that are
 * read-only or `snapshot` (a writable disk shared through a cache would be
 * written by every VM that uses it: give those as paths on the host).
 */
export async function copyBootFiles(
  host: Host,
  base: string,
  spec: VmSpec,
  options: CallOptions,
): Promise<VmSpec> {
  const cacheDir = `${base}/cache`;
  await host.makeDir(cacheDir, { ...options, mode: 0o700, parents: true });
  const copy = (path: string) => cached(host, cacheDir, path, options);
  const result: Record<string, unknown> = { ...spec };
  if (spec.kernel) {
    result.kernel = {
      ...spec.kernel,
      path: await copy(spec.kernel.path),
      ...(spec.kernel.initrdPath ? { initrdPath: await copy(spec.kernel.initrdPath) } : {}),
    };
  }
  if (spec.drives) {
    const drives = [];
    for (const drive of spec.drives)
      drives.push(
        drive.readOnly || drive.snapshot ? { ...drive, path: await copy(drive.path) } : drive,
      );
    result.drives = drives;
  }
  if (spec.pflash) {
    const pflash = [];
    for (const image of spec.pflash)
      pflash.push(image.readOnly ? { ...image, path: await copy(image.path) } : image);
    result.pflash = pflash;
  }
  return result as unknown as VmSpec;
}
