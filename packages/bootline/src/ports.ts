import { InvalidSpecError, type SpecIssue } from "./errors.js";
import { parseHostForward, validPort } from "./host-forward.js";
import { DEFAULT_HOST, VNC_BASE_PORT } from "./resolved-spec.js";
import type { HostForward, NetSpec, VmSpec } from "./spec.js";
import { resolveOrThrow } from "./validate.js";

/** The kinds of port a pool leases: forwarded, serial, migration, display. */
export type PortKind = "forward" | "serial" | "migration" | "display";

/** A port a spec still needs (it says `"auto"`). */
export interface PortRequest {
  /** The spec field to assign, e.g. `nets[0].hostForwards[0].hostPort`; the key for `assignPorts`. */
  readonly field: string;
  readonly kind: PortKind;
  readonly protocol: "tcp" | "udp";
  /** The address it will bind. */
  readonly host: string;
}

/**
 * The ports a spec leaves to the caller (`"auto"`, also from DTS configs): lease
 * one per request, then `assignPorts`. Validates the rest of the spec (runtime
 * paths may still lack `runtimeDir`); throws `InvalidSpecError` for other problems.
 */
export function unassignedPorts(spec: VmSpec): PortRequest[] {
  const resolved = resolveOrThrow(spec, { allowUnassigned: true });
  const requests: PortRequest[] = [];
  for (const net of resolved.nets)
    if (net.type === "user")
      for (const forward of net.hostForwards)
        if (forward.hostPort === "auto")
          requests.push({
            field: forward.field,
            kind: "forward",
            protocol: forward.protocol,
            host: forward.hostAddress,
          });
  const serial = resolved.serial;
  if (serial && serial.type !== "unix" && serial.port === "auto")
    requests.push({ field: "serial.port", kind: "serial", protocol: "tcp", host: serial.host });
  if (resolved.display.type === "vnc" && resolved.display.display === "auto")
    requests.push({
      field: "display.display",
      kind: "display",
      protocol: "tcp",
      host: resolved.display.host,
    });
  if (resolved.incoming?.port === "auto")
    requests.push({
      field: "incoming.port",
      kind: "migration",
      protocol: "tcp",
      host: resolved.incoming.host,
    });
  return requests;
}

/**
 * A copy of the spec with leased ports filled in, keyed by `PortRequest.field`.
 * Every value is a TCP/UDP port; for `display.display` it is the VNC port
 * (5900 + display). Throws `InvalidSpecError` for a key that names no `"auto"`
 * port or a value out of range. The input is not modified.
 */
export function assignPorts(spec: VmSpec, ports: Readonly<Record<string, number>>): VmSpec {
  const wanted = new Map(unassignedPorts(spec).map((request) => [request.field, request]));
  const issues: SpecIssue[] = [];
  for (const [field, port] of Object.entries(ports)) {
    const request = wanted.get(field);
    if (!request) {
      issues.push({
        path: field,
        message: 'is not a port left "auto" in this spec',
        expected: wanted.size ? `one of ${[...wanted.keys()].join(", ")}` : "no assignment",
      });
      continue;
    }
    const min = request.kind === "display" ? VNC_BASE_PORT : 1;
    if (!validPort(port) || port < min)
      issues.push({
        path: field,
        message: `${port} is out of range`,
        expected: `a port number ${min}–65535`,
      });
  }
  if (issues.length) throw new InvalidSpecError(issues);

  let result: VmSpec = spec;
  const port = (field: string) => ports[field];
  const serialPort = port("serial.port");
  if (serialPort !== undefined && result.serial && result.serial.type !== "unix")
    result = { ...result, serial: { ...result.serial, port: serialPort } };
  const displayPort = port("display.display");
  if (displayPort !== undefined && result.display?.type === "vnc")
    result = { ...result, display: { ...result.display, display: displayPort - VNC_BASE_PORT } };
  const incomingPort = port("incoming.port");
  if (incomingPort !== undefined && result.incoming)
    result = { ...result, incoming: { ...result.incoming, port: incomingPort } };
  if (
    result.nets?.some((_, index) =>
      Object.keys(ports).some((key) => key.startsWith(`nets[${index}].`)),
    )
  ) {
    result = {
      ...result,
      nets: result.nets.map((net, index): NetSpec => {
        if (net.type !== "user" || !net.hostForwards) return net;
        return {
          ...net,
          hostForwards: net.hostForwards.map((forward, forwardIndex) => {
            const assigned = port(`nets[${index}].hostForwards[${forwardIndex}].hostPort`);
            if (assigned === undefined) return forward;
            if (typeof forward !== "string") return { ...forward, hostPort: assigned };
            const parsed = parseHostForward(forward, {
              emptyHostAddress: DEFAULT_HOST,
              emptyHostPort: "auto",
            });
            if ("error" in parsed) return forward;
            const structured: HostForward = { ...parsed, hostPort: assigned };
            return structured;
          }),
        };
      }),
    };
  }
  return result;
}
