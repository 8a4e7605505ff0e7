/** Every lease a VM needs, in one pool transaction, and the spec filled with them. */
import { assignPorts, unassignedPorts, type VmSpec } from "@qemu-kvm/bootline";
import type { CallOptions } from "@qemu-kvm/core";
import type { LeaseRequest, ResourcePool } from "@qemu-kvm/pool";

/** The ports, CPUs and PCI devices of a spec, leased together: all of them or none. */
export async function leaseFor(
  pool: ResourcePool,
  owner: string,
  spec: VmSpec,
  options: CallOptions,
): Promise<VmSpec> {
  const ports = unassignedPorts(spec);
  const request: LeaseRequest = {
    ports: ports.map((port) => ({ kind: port.kind })),
    ...(spec.cpu?.hostCpus?.length ? { cpus: [...spec.cpu.hostCpus] } : {}),
    ...(spec.passthrough?.length ? { pci: spec.passthrough.map((device) => device.host) } : {}),
  };
  const grant = await pool.lease(owner, request, options);
  const assigned: Record<string, number> = {};
  for (const [index, port] of ports.entries()) assigned[port.field] = grant.ports[index]!.port;
  return ports.length ? assignPorts(spec, assigned) : spec;
}
