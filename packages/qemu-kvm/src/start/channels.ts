/** Connecting to a VM's monitor, console and agent, through its host. */
import { ids, type VmFacts } from "@qemu-kvm/bootline";
import {
  connectGuestAgent,
  createSerialConsole,
  dmiProductUuid,
  type GuestAgentClient,
  type SerialConsole,
} from "@qemu-kvm/control";
import type { CallOptions } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { connectQmp, type QmpClient } from "@qemu-kvm/monitor";
import { VmRuntimeError } from "../errors.js";
import type { ConsoleEndpoint, VmRecord } from "../runtime/record.js";

/** The console endpoint in the facts (unix path or telnet port), if the VM has a serial console. */
export function consoleOf(facts: VmFacts): ConsoleEndpoint | undefined {
  const endpoint = facts.serials[0]?.endpoint;
  if (endpoint?.type === "unix") return { type: "unix", path: endpoint.path };
  if (endpoint?.type === "tcp" && endpoint.telnet)
    return { type: "telnet", host: endpoint.host, port: endpoint.port };
  return undefined;
}

export async function openQmp(
  host: Host,
  record: VmRecord,
  options: CallOptions,
): Promise<QmpClient> {
  const stream = await host.connectUnix(record.qmpPath, options);
  return connectQmp(stream, options);
}

/** The serial console of the VM, checked to be this VM (its DMI product UUID) at every login. */
export async function openConsole(
  host: Host,
  record: VmRecord,
  login: { user: string; password?: string },
  options: CallOptions,
): Promise<SerialConsole> {
  const endpoint = record.console;
  if (!endpoint)
    throw new VmRuntimeError({
      path: record.runtimeDir,
      reason: `VM ${record.name} has no serial console on a socket`,
    });
  const stream =
    endpoint.type === "unix"
      ? await host.connectUnix(endpoint.path, options)
      : await host.connectTcp(endpoint.host, endpoint.port, options);
  return createSerialConsole(stream, {
    telnet: endpoint.type === "telnet",
    user: login.user,
    ...(login.password !== undefined ? { password: login.password } : {}),
    guestIdentity: dmiProductUuid(record.uuid),
  });
}

/**
 * The guest agent, once QEMU says the guest opened its port (`VSERPORT_CHANGE`):
 * no sync is sent into a port nobody reads. `opened` is armed by the caller
 * before the guest runs, so the event cannot be missed.
 */
export async function openAgent(
  host: Host,
  record: VmRecord,
  opened: Promise<unknown> | undefined,
  options: CallOptions,
): Promise<GuestAgentClient> {
  if (!record.agentPath)
    throw new VmRuntimeError({
      path: record.runtimeDir,
      reason: `VM ${record.name} has no guest agent channel`,
    });
  if (opened) await opened;
  const stream = await host.connectUnix(record.agentPath, options);
  return connectGuestAgent(stream, options);
}

/** Arms the wait for the guest opening its agent port (before `cont`). */
export function agentOpened(qmp: QmpClient, options: CallOptions): Promise<unknown> {
  const opened = qmp.waitForEvent(
    "VSERPORT_CHANGE",
    (event) => {
      const data = event.data as { id?: unknown; open?: unknown } | undefined;
      return data?.id === ids.guestAgentPort && data.open === true;
    },
    options,
  );
  opened.catch(() => {});
  return opened;
}
