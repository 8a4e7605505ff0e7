import {
  type CallOptions,
  checkCallOptions,
  InvalidArgumentError,
  withDeadline,
} from "@qemu-kvm/core";
import type { QmpCommandName } from "../schema/index.js";
import type { DeviceSpec, RunState } from "../schema/names.js";
import type { QmpClient } from "./client.js";
import type { QmpEvent } from "./events.js";
import { flattenQueryPci, type PciDevice } from "./pci.js";

/**
 * What the command helpers need of a connection: its typed API for the
 * commands every known QEMU has, so the compiler proves each command they send
 * exists in every schema.
 */
type Qmp = Pick<QmpClient, "execute" | "waitForEvent">;

/** `query-status`. */
export interface VmStatus {
  status: RunState;
  /** True when vCPUs run (`status` is `running`). */
  running: boolean;
  /** QEMU 7.2's `singlestep`; always false on QEMU 10.0, which removed it. */
  singlestep: boolean;
}

/** A vCPU from `query-cpus-fast`. */
export interface Vcpu {
  /** `cpu-index`. */
  index: number;
  /** Host thread id (TID) of the vCPU thread: what `taskset -p` pins. */
  threadId: number;
  qomPath: string;
  /** QEMU target, e.g. `x86_64`. */
  target: string;
  /** Topology: `socket-id`, `core-id`, `thread-id`, `node-id`… as QEMU names them. */
  props: Record<string, number>;
}

const DEFAULT_DEVICE_DEL_TIMEOUT_MS = 30_000;
const UNPLUG_HINT =
  "a PCI device on an ACPI or PCIe hot-plug slot is removed only once the guest acknowledges the unplug";

/** `human-monitor-command`: the output with `\n` line ends. */
export function hmp(qmp: Qmp, commandLine: string, options?: CallOptions): Promise<string> {
  if (typeof commandLine !== "string")
    throw new InvalidArgumentError("commandLine", "an HMP command line (a string)", commandLine);
  return qmp
    .execute("human-monitor-command", { "command-line": commandLine }, options)
    .then((output) => output.replace(/\r\n/g, "\n"));
}

/** `query-status`. */
export function queryStatus(qmp: Qmp, options?: CallOptions): Promise<VmStatus> {
  return qmp.execute("query-status", undefined, options).then((reply) => ({
    status: reply.status,
    running: reply.running,
    singlestep: ("singlestep" in reply && reply.singlestep) || false,
  }));
}

/** `query-pci`, flattened. */
export function queryPciDevices(qmp: Qmp, options?: CallOptions): Promise<PciDevice[]> {
  return qmp.execute("query-pci", undefined, options).then(flattenQueryPci);
}

/** `query-cpus-fast`. */
export function queryVcpus(qmp: Qmp, options?: CallOptions): Promise<Vcpu[]> {
  return qmp.execute("query-cpus-fast", undefined, options).then((reply) =>
    reply.map((cpu) => ({
      index: cpu["cpu-index"],
      threadId: cpu["thread-id"],
      qomPath: cpu["qom-path"],
      target: cpu.target,
      props: { ...cpu.props } as Record<string, number>,
    })),
  );
}

/** A command whose reply is `{}`. */
export function run(
  qmp: Qmp,
  command: QmpCommandName & ("system_powerdown" | "migrate_cancel"),
  options?: CallOptions,
): Promise<void> {
  return qmp.execute(command, undefined, options).then(noValue);
}

/** `device_add`. */
export function deviceAdd(qmp: Qmp, device: DeviceSpec, options?: CallOptions): Promise<void> {
  if (typeof device !== "object" || device === null)
    throw new InvalidArgumentError("device", "{ driver, id, ...properties }", device);
  if (typeof device.driver !== "string" || device.driver === "")
    throw new InvalidArgumentError("device.driver", "a device driver name", device.driver);
  if (typeof device.id !== "string" || device.id === "")
    throw new InvalidArgumentError("device.id", "a device id", device.id);
  return qmp.execute("device_add", { ...device }, options).then(noValue);
}

/**
 * `device_del`, then the `DEVICE_DELETED` of the device itself (matched on its
 * id, or its QOM path when `id` starts with `/`; its children's come first).
 */
export function deviceDel(
  qmp: Qmp,
  id: string,
  options?: CallOptions,
): Promise<QmpEvent<"DEVICE_DELETED">> {
  if (typeof id !== "string" || id.length === 0)
    throw new InvalidArgumentError("id", "a device id or QOM path", id);
  const checked = checkCallOptions(options);
  const path = id.startsWith("/") ? id : `/machine/peripheral/${id}`;
  const settings = { defaultTimeoutMs: DEFAULT_DEVICE_DEL_TIMEOUT_MS, hint: UNPLUG_HINT };
  return withDeadline(`device_del ${id}`, checked, settings, async (signal) => {
    const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
    // Armed first: a device QEMU removes at once (USB) reports it before the reply.
    const deleted = qmp.waitForEvent(
      "DEVICE_DELETED",
      (event) => event.data.device === id || event.data.path === path,
      inner,
    );
    await qmp.execute("device_del", { id }, inner);
    return deleted;
  });
}

function noValue(): void {}
