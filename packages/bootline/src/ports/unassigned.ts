/** `unassignedPorts`: the ports a spec leaves to the caller (`"auto"`). */
import type { PortKind } from "@qemu-kvm/core";
import type { VmSpec } from "../spec/vm-spec.js";
import { resolveOrThrow } from "../validate/resolve.js";

/** A port a spec still needs (it says `"auto"`): lease one of `kind`, then `assignPorts`. */
export interface UnassignedPort {
  /** The spec field to assign, e.g. `nets[0].hostForwards[0].hostPort`; the key for `assignPorts`. */
  readonly field: string;
  /** What the port is for, which is also the range a pool leases it from. */
  readonly kind: PortKind;
  readonly protocol: "tcp" | "udp";
  /** The address it will bind. */
  readonly host: string;
}

/**
 * The ports a spec leaves to the caller (`"auto"`, also from DTS configs): lease
 * one per entry, then `assignPorts`. Validates the rest of the spec (runtime
 * paths may still lack `runtimeDir`); throws `InvalidSpecError` for other problems.
 */
export function unassignedPorts(spec: VmSpec): UnassignedPort[] {
  const resolved = resolveOrThrow(spec, { allowUnassigned: true });
  const ports: UnassignedPort[] = [];
  for (const net of resolved.nets)
    if (net.type === "user")
      for (const forward of net.hostForwards)
        if (forward.hostPort === "auto")
          ports.push({
            field: forward.field,
            kind: "forward",
            protocol: forward.protocol,
            host: forward.hostAddress,
          });
  const serial = resolved.serial;
  if (serial && serial.type !== "unix" && serial.port === "auto")
    ports.push({ field: "serial.port", kind: "serial", protocol: "tcp", host: serial.host });
  // The unix socket forms of the display and the migration need no port.
  const display = resolved.display;
  if (display.type === "vnc" && display.socket === "tcp" && display.display === "auto")
    ports.push({ field: "display.display", kind: "display", protocol: "tcp", host: display.host });
  const incoming = resolved.incoming;
  if (incoming?.type === "tcp" && incoming.port === "auto")
    ports.push({ field: "incoming.port", kind: "migration", protocol: "tcp", host: incoming.host });
  return ports;
}
