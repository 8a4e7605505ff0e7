/**
 * A running VM's record, for the verbs that do not take the VM up
 * (`monitor`, `console`): attaching would log in on its console and adopt
 * its leases, and these only need a socket.
 */
import type { CallOptions } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { VmNotFoundError } from "../errors.js";
import { defaultRuntimeBase, vmDir } from "../runtime/layout.js";
import type { VmRecord } from "../runtime/record.js";
import { readRecord, recordAlive } from "../runtime/runtime-dir.js";

/** The record of VM `name` whose QEMU still runs (same pid and start time); else `ERR_VM_NOT_FOUND`. */
export async function findRunningVm(
  host: Host,
  runtimeBase: string | undefined,
  name: string,
  options: CallOptions,
): Promise<VmRecord> {
  const base = runtimeBase ?? (await defaultRuntimeBase(host, options));
  const record = await readRecord(host, vmDir(base, name), options);
  if (!record) throw new VmNotFoundError({ vm: name, host: host.name, reason: "no record of it" });
  if (!(await recordAlive(host, record, options)))
    throw new VmNotFoundError({
      vm: name,
      host: host.name,
      reason: `its QEMU (pid ${record.pid}) is gone`,
    });
  return record;
}
