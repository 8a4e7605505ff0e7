/** A VM's private directory: claimed by name, recorded, found again, removed. */
import type { CallOptions } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { VmExistsError, VmRuntimeError } from "../errors.js";
import { RUNTIME_FILES, vmDir, vmsDir } from "./layout.js";
import { formatRecord, parseRecord, type VmRecord } from "./record.js";

/** Whether the QEMU a record names still runs (same pid, same start time). */
export async function recordAlive(
  host: Host,
  record: VmRecord,
  options: CallOptions = {},
): Promise<boolean> {
  return host.isAlive(record.pid, { ...options, startTime: BigInt(record.startTime) });
}

/** The record in `dir`, or undefined when there is none. Throws `ERR_VM_RUNTIME` for one that is not ours. */
export async function readRecord(
  host: Host,
  dir: string,
  options: CallOptions = {},
): Promise<VmRecord | undefined> {
  const path = `${dir}/${RUNTIME_FILES.record}`;
  let text: string;
  try {
    text = await host.readFile(path, { ...options, encoding: "utf8" });
  } catch (error) {
    if ((error as { systemCode?: string }).systemCode === "ENOENT") return undefined;
    throw error;
  }
  return parseRecord(text, path);
}

/**
 * Checks that the base directory and the `vms` directory under it are ours:
 * real directories (not symlinks), owned by the user QEMU runs as, private.
 * Creates them (0700) when missing.
 */
async function ensureBase(host: Host, base: string, options: CallOptions): Promise<void> {
  const vms = vmsDir(base);
  await host.makeDir(vms, { ...options, mode: 0o700, parents: true });
  for (const path of [base, vms]) {
    const stat = await host.stat(path, options);
    if (stat?.type !== "directory")
      throw new VmRuntimeError({ path, reason: "is not a directory (a symlink is refused)" });
    if ((stat.mode & 0o077) !== 0)
      throw new VmRuntimeError({
        path,
        reason: `is not private (mode ${(stat.mode & 0o777).toString(8)}; expected 700)`,
      });
  }
}

/**
 * Makes VM `name`'s directory, fresh. A directory left by a VM that is gone is
 * removed first; one whose VM still runs is `ERR_VM_EXISTS`.
 */
export async function claimRuntimeDir(
  host: Host,
  base: string,
  name: string,
  options: CallOptions = {},
): Promise<string> {
  await ensureBase(host, base, options);
  const dir = vmDir(base, name);
  const stat = await host.stat(dir, options);
  if (stat) {
    if (stat.type !== "directory")
      throw new VmRuntimeError({ path: dir, reason: "exists and is not a directory" });
    const record = await readRecord(host, dir, options).catch(() => undefined);
    if (record && (await recordAlive(host, record, options)))
      throw new VmExistsError({ vm: name, host: host.name, pid: record.pid });
    await host.remove(dir, { ...options, recursive: true });
  }
  await host.makeDir(dir, { ...options, mode: 0o700 });
  return dir;
}

/** Writes the record atomically (a new file renamed over the old one): a reader never sees half of it. */
export async function writeRecord(
  host: Host,
  record: VmRecord,
  options: CallOptions = {},
): Promise<void> {
  const path = `${record.runtimeDir}/${RUNTIME_FILES.record}`;
  const temporary = `${path}.${process.pid}.tmp`;
  await host.writeFile(temporary, formatRecord(record), { ...options, mode: 0o600 });
  await host.rename(temporary, path, options);
}

/** Removes a VM's directory and everything in it; a missing one is fine. */
export async function removeRuntimeDir(
  host: Host,
  dir: string,
  options: CallOptions = {},
): Promise<void> {
  await host.remove(dir, { ...options, recursive: true });
}
