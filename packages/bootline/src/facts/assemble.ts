/** Internal: how facts are put together, the same way for specs and for argv. */
import { formatGuestSlot, type GuestSlot } from "@qemu-kvm/core";
import type {
  Endpoint,
  Listener,
  ListenerKind,
  OtherBackend,
  PassthroughFacts,
  RuntimePath,
  RuntimePathKind,
  VmFacts,
} from "./vm-facts.js";

export type FactParts = Omit<VmFacts, "listeners" | "runtimePaths">;

const ROOT_BUSES = new Set(["pci.0", "pcie.0"]);

/** Internal: the passthrough facts of one device, the same way for specs and argv. */
export function passthroughFacts(
  id: string | undefined,
  driver: string,
  host: string,
  bus: string | undefined,
  slot: GuestSlot | undefined,
): PassthroughFacts {
  const slotText = slot ? formatGuestSlot(slot) : undefined;
  return {
    ...(id !== undefined ? { id } : {}),
    driver,
    host,
    ...(bus !== undefined ? { bus } : {}),
    ...(slotText !== undefined ? { slot: slotText } : {}),
    ...(slotText !== undefined && (bus === undefined || ROOT_BUSES.has(bus))
      ? { guestAddress: `0000:00:${slotText}` }
      : {}),
  };
}

function listenerOf(kind: ListenerKind, endpoint: Endpoint | OtherBackend | undefined): Listener[] {
  if (endpoint?.type !== "tcp" || !endpoint.server) return [];
  return [{ kind, protocol: "tcp", host: endpoint.host, port: endpoint.port }];
}

function pathOf(
  kind: RuntimePathKind,
  endpoint: Endpoint | OtherBackend | undefined,
): RuntimePath[] {
  if (endpoint?.type !== "unix") return [];
  return [{ kind, path: endpoint.path, role: endpoint.server ? "listen" : "connect" }];
}

/** Internal: adds the derived `listeners` and `runtimePaths`, in a fixed order. */
export function assembleFacts(parts: FactParts): VmFacts {
  const listeners: Listener[] = [
    ...parts.hostForwards.map(
      (forward): Listener => ({
        kind: "forward",
        protocol: forward.protocol,
        host: forward.hostAddress,
        port: forward.hostPort,
      }),
    ),
    ...parts.serials.flatMap((serial) => listenerOf("serial", serial.endpoint)),
    ...(parts.vnc
      ? [{ kind: "display", protocol: "tcp", host: parts.vnc.host, port: parts.vnc.port } as const]
      : []),
    ...(parts.incoming && "port" in parts.incoming
      ? [
          {
            kind: "migration",
            protocol: "tcp",
            host: parts.incoming.host,
            port: parts.incoming.port,
          } as const,
        ]
      : []),
    ...parts.qmp.flatMap((endpoint) => listenerOf("qmp", endpoint)),
    ...parts.monitors.flatMap((endpoint) => listenerOf("monitor", endpoint)),
    ...listenerOf("guest-agent", parts.guestAgent),
  ];
  const runtimePaths: RuntimePath[] = [
    ...(parts.pidfile !== undefined
      ? [{ kind: "pidfile", path: parts.pidfile, role: "file" } as const]
      : []),
    ...parts.qmp.flatMap((endpoint) => pathOf("qmp", endpoint)),
    ...parts.monitors.flatMap((endpoint) => pathOf("monitor", endpoint)),
    ...parts.serials.flatMap((serial) => [
      ...pathOf("serial", serial.endpoint),
      ...(serial.logPath !== undefined
        ? [{ kind: "serial-log", path: serial.logPath, role: "file" } as const]
        : []),
    ]),
    ...pathOf("guest-agent", parts.guestAgent),
    ...parts.vhostUser.flatMap((user) => pathOf("vhost-user", user.endpoint)),
    ...parts.crypto.flatMap((user) => pathOf("crypto", user.endpoint)),
  ];
  return { ...parts, listeners, runtimePaths };
}
