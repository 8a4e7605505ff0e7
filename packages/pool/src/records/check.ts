import type { CpuLeaseRecord, PciLeaseRecord, PoolState } from "./records.js";

/**
 * The first violated invariant of a state, or `undefined`: owner names unique;
 * every lease's owner present; a port, a PCI device, an exclusively leased CPU
 * held once; no owner twice on one CPU; never a PF together with one of its VFs.
 */
export function checkPoolState(state: PoolState): string | undefined {
  const owners = new Set<string>();
  for (const owner of state.owners) {
    if (owners.has(owner.owner)) return `owner ${owner.owner} appears twice`;
    owners.add(owner.owner);
  }
  const ports = new Map<number, string>();
  const pci = new Map<string, PciLeaseRecord>();
  const cpus = new Map<number, CpuLeaseRecord[]>();
  for (const lease of state.leases) {
    if (!owners.has(lease.owner)) return `a lease of ${lease.owner}, which has no owner record`;
    switch (lease.lease) {
      case "port": {
        const other = ports.get(lease.port);
        if (other !== undefined)
          return `port ${lease.port} is leased to both ${other} and ${lease.owner}`;
        ports.set(lease.port, lease.owner);
        break;
      }
      case "pci": {
        const other = pci.get(lease.address);
        if (other)
          return `PCI device ${lease.address} is leased to both ${other.owner} and ${lease.owner}`;
        pci.set(lease.address, lease);
        break;
      }
      case "cpu": {
        const holders = cpus.get(lease.cpu) ?? [];
        for (const other of holders) {
          if (other.owner === lease.owner)
            return `CPU ${lease.cpu} is leased twice to ${lease.owner}`;
          if (!other.shared || !lease.shared)
            return `CPU ${lease.cpu} is leased to both ${other.owner} and ${lease.owner}, not both shared`;
        }
        holders.push(lease);
        cpus.set(lease.cpu, holders);
        break;
      }
    }
  }
  for (const lease of pci.values()) {
    if (lease.function !== "vf" || lease.pf === undefined) continue;
    const pf = pci.get(lease.pf);
    if (pf)
      return `PF ${lease.pf} (${pf.owner}) and its VF ${lease.address} (${lease.owner}) are both leased`;
  }
  return undefined;
}
