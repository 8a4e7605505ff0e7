/** `assignPorts`: a copy of a spec with the ports a caller leased filled in. */
import { describeValue, InvalidArgumentError } from "@qemu-kvm/core";
import { InvalidSpecError, type SpecIssue } from "../errors.js";
import { DEFAULT_HOST, VNC_BASE_PORT } from "../spec/defaults.js";
import type { HostForward, NetSpec } from "../spec/devices.js";
import type { VmSpec } from "../spec/vm-spec.js";
import { readHostForward, validPort } from "../syntax/host-forward.js";
import { type UnassignedPort, unassignedPorts } from "./unassigned.js";

/** Every problem of the assignment: fields that are not `"auto"` ports, values that are not ports. */
function assignmentIssues(
  wanted: ReadonlyMap<string, UnassignedPort>,
  ports: Readonly<Record<string, unknown>>,
): SpecIssue[] {
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
    const expected = `a port number ${min}–65535`;
    if (typeof port !== "number" || !Number.isInteger(port))
      issues.push({ path: field, message: `must be a port number (got ${describeValue(port)})` });
    else if (!validPort(port) || port < min)
      issues.push({ path: field, message: `${port} is out of range`, expected });
  }
  return issues;
}

/** A host forward (structured or text) with its host port set. */
function withHostPort(forward: HostForward | string, hostPort: number): HostForward | string {
  if (typeof forward !== "string") return { ...forward, hostPort };
  const parsed = readHostForward(forward, {
    emptyHostAddress: DEFAULT_HOST,
    emptyHostPort: "auto",
  });
  return "error" in parsed ? forward : { ...parsed, hostPort };
}

function assignForwards(nets: readonly NetSpec[], port: (field: string) => number | undefined) {
  return nets.map((net, index): NetSpec => {
    if (net.type !== "user" || !net.hostForwards) return net;
    return {
      ...net,
      hostForwards: net.hostForwards.map((forward, forwardIndex) => {
        const assigned = port(`nets[${index}].hostForwards[${forwardIndex}].hostPort`);
        return assigned === undefined ? forward : withHostPort(forward, assigned);
      }),
    };
  });
}

/**
 * A copy of the spec with leased ports filled in, keyed by `UnassignedPort.field`.
 * Every value is a TCP/UDP port number (a pool lease's `.port`, not the lease);
 * for `display.display` it is the VNC port (5900 + display). Throws
 * `InvalidSpecError` listing every key that names no `"auto"` port and every
 * value that is not a port number in range; `ERR_INVALID_ARGUMENT` when `ports`
 * is not an object. The input is not modified.
 */
export function assignPorts(spec: VmSpec, ports: Readonly<Record<string, number>>): VmSpec {
  if (typeof ports !== "object" || ports === null || Array.isArray(ports))
    throw new InvalidArgumentError("ports", "an object of port numbers by spec field", ports);
  const wanted = new Map(unassignedPorts(spec).map((request) => [request.field, request]));
  const issues = assignmentIssues(wanted, ports);
  if (issues.length) throw new InvalidSpecError(issues);

  let result: VmSpec = spec;
  const port = (field: string) => (Object.hasOwn(ports, field) ? ports[field] : undefined);
  const serialPort = port("serial.port");
  if (serialPort !== undefined && result.serial && result.serial.type !== "unix")
    result = { ...result, serial: { ...result.serial, port: serialPort } };
  const displayPort = port("display.display");
  const display = result.display;
  if (displayPort !== undefined && display?.type === "vnc" && display.socket !== "unix")
    result = { ...result, display: { ...display, display: displayPort - VNC_BASE_PORT } };
  const incomingPort = port("incoming.port");
  const incoming = result.incoming;
  if (incomingPort !== undefined && incoming && incoming.type !== "unix")
    result = { ...result, incoming: { ...incoming, port: incomingPort } };
  const keys = Object.keys(ports);
  if (result.nets?.some((_, index) => keys.some((key) => key.startsWith(`nets[${index}].`))))
    result = { ...result, nets: assignForwards(result.nets, port) };
  return result;
}
