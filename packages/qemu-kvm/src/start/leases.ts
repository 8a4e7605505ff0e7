/** Every lease a VM needs, in one pool transaction, and the spec filled with them. */
import { assignPorts, specFacts, unassignedPorts, type VmSpec } from "@qemu-kvm/bootline";
import { type CallOptions, isPortKind } from "@qemu-kvm/core";
import type { LeaseRequest, PortLeaseRequest, ResourcePool } from "@qemu-kvm/pool";

/**
 * What a spec asks of the pool: a port of its kind for each `"auto"` port, the
 * ports it names itself (so no other VM is handed them), its pinned CPUs and
 * its passed-through PCI devices. The named ports are found from the spec's
 * listeners with the `"auto"` ones set to stand-ins at the top of the port
 * range (a spec naming one of those very ports would not have it leased).
 */
export function leaseRequestOf(spec: VmSpec): { request: LeaseRequest; fields: string[] } {
  const auto = unassignedPorts(spec);
  const standIn: Record<string, number> = {};
  for (const [index, port] of auto.entries()) standIn[port.field] = 65535 - index;
  const facts = specFacts(auto.length ? assignPorts(spec, standIn) : spec);
  const standIns = new Set(Object.values(standIn));
  const ports: PortLeaseRequest[] = auto.map((port) => ({ kind: port.kind }));
  for (const listener of facts.listeners)
    if (isPortKind(listener.kind) && !standIns.has(listener.port))
      ports.push({ kind: listener.kind, port: listener.port });
  const request: LeaseRequest = { ports };
  if (spec.cpu?.hostCpus?.length) request.cpus = [...spec.cpu.hostCpus];
  if (spec.passthrough?.length) request.pci = spec.passthrough.map((device) => device.host);
  return { request, fields: auto.map((port) => port.field) };
}

/** Leases what the spec asks (all of it or none) and returns the spec with its ports filled in. */
export async function leaseFor(
  pool: ResourcePool,
  owner: string,
  spec: VmSpec,
  options: CallOptions,
): Promise<VmSpec> {
  const { request, fields } = leaseRequestOf(spec);
  const grant = await pool.lease(owner, request, options);
  if (fields.length === 0) return spec;
  const assigned: Record<string, number> = {};
  for (const [index, field] of fields.entries()) assigned[field] = grant.ports[index]!.port;
  return assignPorts(spec, assigned);
}
