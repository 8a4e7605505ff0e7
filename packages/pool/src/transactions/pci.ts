import { PoolConflictError, PoolUnknownResourceError } from "../errors.js";
import type { PciLeaseRecord, PoolState } from "../records/records.js";
import { busyBy } from "./busy.js";
import type { TxEnv } from "./transaction.js";

export function leasePciInto(
  draft: PoolState,
  env: TxEnv,
  owner: string,
  address: string,
): PciLeaseRecord {
  const facts = env.pci.get(address);
  if (!facts)
    throw new PoolUnknownResourceError({ type: "pci", address }, "no such device on the host");
  const leased = new Map<string, PciLeaseRecord>();
  for (const lease of draft.leases) if (lease.lease === "pci") leased.set(lease.address, lease);
  const existing = leased.get(address);
  if (existing) {
    if (existing.owner === owner) return existing;
    throw busyBy(draft, { type: "pci", address }, existing.owner);
  }
  if (facts.function === "vf" && facts.pf) {
    const pf = leased.get(facts.pf);
    if (pf)
      throw new PoolConflictError({
        address,
        conflictsWith: pf.address,
        owner: pf.owner,
        relation: "pf",
      });
  }
  // Any lease that names this device as its PF blocks it, whatever the device looks like now.
  const vf = [...leased.values()].find((lease) => lease.pf === address);
  if (vf)
    throw new PoolConflictError({
      address,
      conflictsWith: vf.address,
      owner: vf.owner,
      relation: "vf",
    });
  const record: PciLeaseRecord = {
    lease: "pci",
    owner,
    address,
    function: facts.function,
    ...(facts.function === "vf" && facts.pf ? { pf: facts.pf } : {}),
    since: env.now,
  };
  draft.leases.push(record);
  return record;
}
