/**
 * The pool's rules, as pure functions over a state and the facts read under the
 * lock. Every operation works on a copy and replaces the state only when it
 * succeeds, so a batch of operations in one transaction never leaves half of a
 * failed one behind.
 */
import {
  type HolderFacts,
  PoolBusyError,
  PoolConflictError,
  PoolExhaustedError,
  PoolHolderGoneError,
  PoolUnknownResourceError,
} from "./errors.js";
import type { PciFacts, ProcStat } from "./facts.js";
import {
  type ClientRecord,
  type CpuLeaseRecord,
  checkState,
  cloneState,
  type HolderRecord,
  type LeaseRecord,
  type OwnerRecord,
  type PciLeaseRecord,
  type PoolState,
  type PortLeaseRecord,
} from "./state.js";
import type { CpuTopology, PortRange } from "./types.js";

/** What a transaction knows besides the state. */
export interface TxEnv {
  /** ISO time recorded in new leases. */
  now: string;
  client: ClientRecord;
  /** This client's anchor. */
  holder: HolderRecord;
  /** The host's boot id (`-` if unknown). */
  bootId: string;
  /** /proc/PID/stat of every probed pid; a probed pid with no process maps to `undefined`. */
  procs: Map<number, ProcStat | undefined>;
  /** Ports bound on the host (only the range probed), if probed. */
  netBusy: Map<number, string[]> | undefined;
  /** PCI devices asked about: facts, or `undefined` for no such device. */
  pci: Map<string, PciFacts | undefined>;
  topology: CpuTopology;
  portRanges: Readonly<Record<string, PortRange>>;
}

/** A normalized CPU request. */
export interface CpuAsk {
  cpus?: readonly number[];
  count?: number;
  node?: number;
  shared: boolean;
}

/** A normalized port request. */
export interface PortAsk {
  kind: string;
  port?: number;
}

interface Reclaimed {
  owner: OwnerRecord;
  leases: LeaseRecord[];
}

function sameHolder(a: HolderRecord, b: HolderRecord): boolean {
  return a.pid === b.pid && a.startTime === b.startTime && a.bootId === b.bootId;
}

/**
 * Whether a holder still runs: same boot, the pid exists with the same start
 * time, and it is not a zombie. A pid that was not probed counts as alive.
 */
export function holderAlive(holder: HolderRecord, env: TxEnv): boolean {
  if (sameHolder(holder, env.holder)) return true;
  if (env.bootId !== "-" && holder.bootId !== env.bootId) return false;
  if (!env.procs.has(holder.pid)) return true;
  const stat = env.procs.get(holder.pid);
  return (
    stat !== undefined &&
    stat.startTime === holder.startTime &&
    stat.state !== "Z" &&
    stat.state !== "X"
  );
}

function holderFacts(owner: OwnerRecord): HolderFacts {
  return {
    owner: owner.owner,
    pid: owner.holder.pid,
    kind: owner.holder.kind,
    machine: owner.client.machine,
    controllerPid: owner.client.pid,
  };
}

/** One transaction's working state. */
export class Transaction {
  state: PoolState;
  changed = false;
  readonly reclaimed: Reclaimed[] = [];

  constructor(
    state: PoolState,
    readonly env: TxEnv,
  ) {
    this.state = state;
  }

  /** Runs `operation` on a copy; keeps the copy only if it succeeds (and marks the state changed if asked). */
  apply<T>(operation: (draft: PoolState) => { result: T; changed: boolean }): T {
    const draft = cloneState(this.state);
    const { result, changed } = operation(draft);
    if (changed) {
      const problem = checkState(draft);
      if (problem) throw new Error(`internal error: an operation broke the state: ${problem}`);
      this.state = draft;
      this.changed = true;
    }
    return result;
  }

  /** This client's owners held by one of its former anchors move to the current one. */
  rehome(): void {
    this.apply((draft) => {
      let changed = false;
      for (const owner of draft.owners) {
        if (owner.client.id !== this.env.client.id || owner.holder.kind !== "client") continue;
        if (sameHolder(owner.holder, this.env.holder)) continue;
        owner.holder = { ...this.env.holder };
        changed = true;
      }
      return { result: undefined, changed };
    });
  }

  /** Owners whose holder is gone are removed, with their leases. */
  reclaimDead(): void {
    this.apply((draft) => {
      const dead = new Set(
        draft.owners.filter((owner) => !holderAlive(owner.holder, this.env)).map((o) => o.owner),
      );
      if (dead.size === 0) return { result: undefined, changed: false };
      for (const owner of draft.owners) {
        if (dead.has(owner.owner))
          this.reclaimed.push({
            owner,
            leases: draft.leases.filter((lease) => lease.owner === owner.owner),
          });
      }
      draft.owners = draft.owners.filter((owner) => !dead.has(owner.owner));
      draft.leases = draft.leases.filter((lease) => !dead.has(lease.owner));
      return { result: undefined, changed: true };
    });
  }
}

function ownerRecord(draft: PoolState, owner: string): OwnerRecord | undefined {
  return draft.owners.find((record) => record.owner === owner);
}

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

function busyBy(
  draft: PoolState,
  resource: ConstructorParameters<typeof PoolBusyError>[0],
  owner: string,
) {
  const record = ownerRecord(draft, owner);
  return new PoolBusyError(resource, record ? { holder: holderFacts(record) } : {});
}

/** `record`'s owner is another pool client's. */
function ownerBusy(record: OwnerRecord, detail: string): PoolBusyError {
  return new PoolBusyError(
    { type: "owner", owner: record.owner },
    { holder: holderFacts(record), detail },
  );
}

function leasePortInto(draft: PoolState, env: TxEnv, owner: string, ask: PortAsk): PortLeaseRecord {
  const range = env.portRanges[ask.kind];
  if (!range)
    throw new PoolUnknownResourceError(
      { type: "port-kind", kind: ask.kind },
      "no range is configured for it",
    );
  const leased = new Map<number, PortLeaseRecord>();
  for (const lease of draft.leases) if (lease.lease === "port") leased.set(lease.port, lease);
  const add = (port: number): PortLeaseRecord => {
    const record: PortLeaseRecord = { lease: "port", owner, kind: ask.kind, port, since: env.now };
    draft.leases.push(record);
    return record;
  };
  if (ask.port !== undefined) {
    const existing = leased.get(ask.port);
    if (existing) {
      if (existing.owner === owner && existing.kind === ask.kind) return existing;
      throw busyBy(draft, { type: "port", port: ask.port, kind: existing.kind }, existing.owner);
    }
    const sockets = env.netBusy?.get(ask.port);
    if (sockets)
      throw new PoolBusyError(
        { type: "port", port: ask.port, kind: ask.kind },
        { inUseOnHost: sockets },
      );
    return add(ask.port);
  }
  for (let port = range.from; port <= range.to; port++) {
    if (!leased.has(port) && !env.netBusy?.has(port)) return add(port);
  }
  throw new PoolExhaustedError({
    resource: "port",
    kind: ask.kind,
    range,
    requested: 1,
    available: 0,
  });
}

function leaseCpusInto(draft: PoolState, env: TxEnv, owner: string, ask: CpuAsk): CpuLeaseRecord[] {
  const { topology } = env;
  let pool = topology.allowed;
  let nodeCpus: Set<number> | undefined;
  if (ask.node !== undefined) {
    const cpus = topology.nodes.get(ask.node);
    if (!cpus)
      throw new PoolUnknownResourceError(
        { type: "node", node: ask.node },
        `the host has NUMA nodes ${[...topology.nodes.keys()].join(", ") || "none"}`,
      );
    nodeCpus = new Set(cpus);
    pool = pool.filter((cpu) => nodeCpus!.has(cpu));
  }
  const holders = new Map<number, CpuLeaseRecord[]>();
  for (const lease of draft.leases) {
    if (lease.lease !== "cpu") continue;
    const list = holders.get(lease.cpu) ?? [];
    list.push(lease);
    holders.set(lease.cpu, list);
  }
  const add = (cpu: number): CpuLeaseRecord => {
    const record: CpuLeaseRecord = { lease: "cpu", owner, cpu, shared: ask.shared, since: env.now };
    draft.leases.push(record);
    return record;
  };
  const granted: CpuLeaseRecord[] = [];
  if (ask.cpus) {
    const online = new Set(topology.online);
    const allowed = new Set(topology.allowed);
    for (const cpu of ask.cpus) {
      if (!online.has(cpu))
        throw new PoolUnknownResourceError(
          { type: "cpu", cpu },
          "it is not an online CPU of the host",
        );
      if (!allowed.has(cpu))
        throw new PoolUnknownResourceError(
          { type: "cpu", cpu },
          "it is not among the CPUs this pool hands out",
        );
      if (nodeCpus && !nodeCpus.has(cpu))
        throw new PoolUnknownResourceError(
          { type: "cpu", cpu },
          `it is not on NUMA node ${ask.node}`,
        );
      const current = holders.get(cpu) ?? [];
      const mine = current.find((lease) => lease.owner === owner);
      if (mine) {
        granted.push(mine);
        continue;
      }
      const blocking = current.find((lease) => !ask.shared || !lease.shared);
      if (blocking) throw busyBy(draft, { type: "cpu", cpu }, blocking.owner);
      granted.push(add(cpu));
    }
    return granted;
  }
  const count = ask.count ?? 0;
  const candidates = pool.filter((cpu) => {
    const current = holders.get(cpu) ?? [];
    if (current.some((lease) => lease.owner === owner)) return false;
    return ask.shared ? current.every((lease) => lease.shared) : current.length === 0;
  });
  // Shared: the least shared first, then the lowest.
  if (ask.shared)
    candidates.sort(
      (a, b) => (holders.get(a)?.length ?? 0) - (holders.get(b)?.length ?? 0) || a - b,
    );
  if (candidates.length < count)
    throw new PoolExhaustedError({
      resource: "cpu",
      ...(ask.node === undefined ? {} : { node: ask.node }),
      requested: count,
      available: candidates.length,
    });
  for (const cpu of candidates.slice(0, count).sort((a, b) => a - b)) granted.push(add(cpu));
  return granted;
}

function leasePciInto(
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
