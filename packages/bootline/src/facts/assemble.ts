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
/** FactParts being assembled, one field at a time. */
export type MutableFactParts = { -readonly [K in keyof FactParts]: FactParts[K] };

const ROOT_BUSES = new Set(["pci.0", "pcie.0"]);

/** Internal: the passthrough facts of one device, the same way for specs and argv. */
export function passthroughFacts(
  id: string | undefined,
  driver: string,
  host: string,
  bus: string | undefined,
  slot: GuestSlot | undefined,
): PassthroughFacts {
  const facts: { -readonly [K in keyof PassthroughFacts]: PassthroughFacts[K] } = { driver, host };
  if (id !== undefined) facts.id = id;
  if (bus !== undefined) facts.bus = bus;
  if (slot) {
    facts.slot = formatGuestSlot(slot);
    if (bus === undefined || ROOT_BUSES.has(bus)) facts.guestAddress = `0000:00:${facts.slot}`;
  }
  return facts;
}

function pushListener(
  listeners: Listener[],
  kind: ListenerKind,
  endpoint: Endpoint | OtherBackend | undefined,
): void {
  if (endpoint?.type === "tcp" && endpoint.server)
    listeners.push({ kind, protocol: "tcp", host: endpoint.host, port: endpoint.port });
}

function pushPath(
  paths: RuntimePath[],
  kind: RuntimePathKind,
  endpoint: Endpoint | OtherBackend | undefined,
): void {
  if (endpoint?.type === "unix")
    paths.push({ kind, path: endpoint.path, role: endpoint.server ? "listen" : "connect" });
}

/** Every host port QEMU listens on, in a fixed order. */
function listenersOf(parts: FactParts): Listener[] {
  // Plain loops, not spreads and flatMap: this runs for every spec and every argv read.
  const listeners: Listener[] = [];
  for (const forward of parts.hostForwards)
    listeners.push({
      kind: "forward",
      protocol: forward.protocol,
      host: forward.hostAddress,
      port: forward.hostPort,
    });
  for (const serial of parts.serials) pushListener(listeners, "serial", serial.endpoint);
  const { vnc, incoming } = parts;
  if (vnc && "port" in vnc)
    listeners.push({ kind: "display", protocol: "tcp", host: vnc.host, port: vnc.port });
  if (incoming && "port" in incoming)
    listeners.push({
      kind: "migration",
      protocol: "tcp",
      host: incoming.host,
      port: incoming.port,
    });
  for (const endpoint of parts.qmp) pushListener(listeners, "qmp", endpoint);
  for (const endpoint of parts.monitors) pushListener(listeners, "monitor", endpoint);
  pushListener(listeners, "guest-agent", parts.guestAgent);
  return listeners;
}

/** Every runtime file and unix socket, in a fixed order. */
function runtimePathsOf(parts: FactParts): RuntimePath[] {
  const paths: RuntimePath[] = [];
  if (parts.pidfile !== undefined)
    paths.push({ kind: "pidfile", path: parts.pidfile, role: "file" });
  for (const endpoint of parts.qmp) pushPath(paths, "qmp", endpoint);
  for (const endpoint of parts.monitors) pushPath(paths, "monitor", endpoint);
  for (const serial of parts.serials) {
    pushPath(paths, "serial", serial.endpoint);
    if (serial.logPath !== undefined)
      paths.push({ kind: "serial-log", path: serial.logPath, role: "file" });
  }
  pushPath(paths, "guest-agent", parts.guestAgent);
  if (parts.vnc && "path" in parts.vnc)
    paths.push({ kind: "vnc", path: parts.vnc.path, role: "listen" });
  if (parts.incoming && "path" in parts.incoming)
    paths.push({ kind: "incoming", path: parts.incoming.path, role: "listen" });
  for (const user of parts.vhostUser) pushPath(paths, "vhost-user", user.endpoint);
  for (const user of parts.crypto) pushPath(paths, "crypto", user.endpoint);
  return paths;
}

/** Internal: adds the derived `listeners` and `runtimePaths`, in a fixed order. */
export function assembleFacts(parts: FactParts): VmFacts {
  const facts = parts as { -readonly [K in keyof VmFacts]: VmFacts[K] };
  facts.listeners = listenersOf(parts);
  facts.runtimePaths = runtimePathsOf(parts);
  return facts;
}
