/** The state file's records as the public API shows them. */
import type { HolderRecord, LeaseRecord, OwnerRecord } from "../records/records.js";
import type { CpuLease, Holder, Lease, OwnerInfo, PciLease, PortLease } from "../types.js";

/** The first port of VNC display 0. */
const VNC_BASE_PORT = 5900;

export function toLease(record: LeaseRecord): Lease {
  const since = new Date(record.since);
  switch (record.lease) {
    case "port": {
      const { owner, kind, port } = record;
      const lease: PortLease = { type: "port", owner, kind, port, since };
      if (kind === "display" && port >= VNC_BASE_PORT) lease.display = port - VNC_BASE_PORT;
      return lease;
    }
    case "cpu":
      return { type: "cpu", owner: record.owner, cpu: record.cpu, shared: record.shared, since };
    case "pci": {
      const { owner, address } = record;
      const lease: PciLease = { type: "pci", owner, address, function: record.function, since };
      if (record.pf !== undefined) lease.pf = record.pf;
      return lease;
    }
  }
}

export const toPortLease = (record: LeaseRecord) => toLease(record) as PortLease;
export const toCpuLease = (record: LeaseRecord) => toLease(record) as CpuLease;
export const toPciLease = (record: LeaseRecord) => toLease(record) as PciLease;

export function toHolder(record: HolderRecord): Holder {
  return {
    pid: record.pid,
    startTime: BigInt(record.startTime),
    bootId: record.bootId,
    kind: record.kind,
  };
}

export function toOwnerInfo(
  owner: OwnerRecord,
  leases: readonly LeaseRecord[],
  alive: boolean,
  clientId: string,
): OwnerInfo {
  return {
    owner: owner.owner,
    holder: toHolder(owner.holder),
    alive,
    mine: owner.client.id === clientId,
    client: { ...owner.client },
    since: new Date(owner.since),
    leases: leases.map(toLease),
  };
}
