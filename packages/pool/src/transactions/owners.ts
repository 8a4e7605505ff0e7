/** The rules about owners: who may lease for a name, release, transfer and adopt it. */
import { PoolHolderGoneError, PoolUnknownResourceError } from "../errors.js";
import type {
  CpuLeaseRecord,
  HolderRecord,
  LeaseRecord,
  OwnerRecord,
  PciLeaseRecord,
  PoolState,
  PortLeaseRecord,
} from "../records/records.js";
import { ownerBusy, ownerRecord } from "./busy.js";
import { leaseCpusInto } from "./cpus.js";
import { leasePciInto } from "./pci.js";
import { leasePortInto } from "./ports.js";
import {
  type CpuAsk,
  holderAlive,
  type PortAsk,
  sameHolder,
  type Transaction,
  type TxEnv,
} from "./transaction.js";

/** The owner record leases are added to: this client's, or a new one. Another client's live owner is busy. */
function ensureOwner(draft: PoolState, env: TxEnv, owner: string): OwnerRecord {
  const existing = ownerRecord(draft, owner);
  if (existing) {
    if (existing.client.id === env.client.id) return existing;
    throw ownerBusy(existing, "the owner name belongs to another pool client");
  }
  const record: OwnerRecord = {
    owner,
    holder: { ...env.holder },
    client: { ...env.client },
    since: env.now,
  };
  draft.owners.push(record);
  return record;
}

interface Grant {
  ports: PortLeaseRecord[];
  cpus: CpuLeaseRecord[];
  pci: PciLeaseRecord[];
}

/** Ports, CPUs and PCI devices for `owner`, all or none (the caller's `apply` discards a failed draft). */
export function leaseAll(
  tx: Transaction,
  owner: string,
  request: { ports: readonly PortAsk[]; cpus: CpuAsk | undefined; pci: readonly string[] },
): Grant {
  // The caller asks for at least one resource, so a new owner always gets a lease.
  return tx.apply((draft) => {
    const leasesBefore = draft.leases.length;
    const ownersBefore = draft.owners.length;
    ensureOwner(draft, tx.env, owner);
    const grant: Grant = {
      ports: request.ports.map((ask) => leasePortInto(draft, tx.env, owner, ask)),
      cpus: request.cpus ? leaseCpusInto(draft, tx.env, owner, request.cpus) : [],
      pci: request.pci.map((address) => leasePciInto(draft, tx.env, owner, address)),
    };
    const changed = draft.leases.length !== leasesBefore || draft.owners.length !== ownersBefore;
    return { result: grant, changed };
  });
}

/** Removes `owner` and its leases (this client's, or one reclaimed in this transaction). */
export function releaseOwner(tx: Transaction, owner: string): LeaseRecord[] {
  const reclaimed = tx.reclaimed.find((entry) => entry.owner.owner === owner);
  if (reclaimed) return reclaimed.leases;
  return tx.apply((draft) => {
    const record = ownerRecord(draft, owner);
    if (!record) return { result: [], changed: false };
    if (record.client.id !== tx.env.client.id && holderAlive(record.holder, tx.env))
      throw ownerBusy(record, "it belongs to another pool client (adopt() it first)");
    const released = draft.leases.filter((lease) => lease.owner === owner);
    draft.leases = draft.leases.filter((lease) => lease.owner !== owner);
    draft.owners = draft.owners.filter((entry) => entry.owner !== owner);
    return { result: released, changed: true };
  });
}

/** Makes a process the holder of `owner`. */
export function transferOwner(
  tx: Transaction,
  owner: string,
  pid: number,
  startTime: bigint,
): void {
  tx.apply((draft) => {
    const record = ownerRecord(draft, owner);
    if (!record) throw new PoolUnknownResourceError({ type: "owner", owner }, "it holds no leases");
    if (record.client.id !== tx.env.client.id)
      throw ownerBusy(record, "it belongs to another pool client (adopt() it first)");
    const holder: HolderRecord = {
      pid,
      startTime: String(startTime),
      bootId: tx.env.bootId,
      kind: "process",
    };
    if (!holderAlive(holder, tx.env) || !tx.env.procs.has(pid))
      throw new PoolHolderGoneError(pid, startTime);
    if (record.holder.kind === "process" && sameHolder(record.holder, holder))
      return { result: undefined, changed: false };
    record.holder = holder;
    return { result: undefined, changed: true };
  });
}

/** Takes over an owner whose holder is a transferred process. */
export function adoptOwner(tx: Transaction, owner: string): LeaseRecord[] {
  return tx.apply((draft) => {
    const record = ownerRecord(draft, owner);
    if (!record) throw new PoolUnknownResourceError({ type: "owner", owner }, "it holds no leases");
    const leases = draft.leases.filter((lease) => lease.owner === owner);
    if (record.client.id === tx.env.client.id) return { result: leases, changed: false };
    if (record.holder.kind === "client")
      throw ownerBusy(record, "its pool client is still running");
    record.client = { ...tx.env.client };
    return { result: leases, changed: true };
  });
}
