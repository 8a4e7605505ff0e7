import { PoolExhaustedError, PoolUnknownResourceError } from "../errors.js";
import type { CpuLeaseRecord, PoolState } from "../records/records.js";
import type { CpuTopology } from "../types.js";
import { busyBy } from "./busy.js";
import type { CpuAsk, TxEnv } from "./transaction.js";

/** The CPUs a request may take from: the pool's own, on the node asked for. */
function nodeCpus(topology: CpuTopology, node: number | undefined): Set<number> | undefined {
  if (node === undefined) return undefined;
  const cpus = topology.nodes.get(node);
  if (!cpus)
    throw new PoolUnknownResourceError(
      { type: "node", node },
      `the host has NUMA nodes ${[...topology.nodes.keys()].join(", ") || "none"}`,
    );
  return new Set(cpus);
}

/** CPU → its leases. */
function cpuHolders(draft: PoolState): Map<number, CpuLeaseRecord[]> {
  const holders = new Map<number, CpuLeaseRecord[]>();
  for (const lease of draft.leases) {
    if (lease.lease !== "cpu") continue;
    const list = holders.get(lease.cpu) ?? [];
    list.push(lease);
    holders.set(lease.cpu, list);
  }
  return holders;
}

/** Why `cpu` cannot be asked for by number, if it cannot. */
function unknownCpu(
  cpu: number,
  topology: CpuTopology,
  onNode: Set<number> | undefined,
  node?: number,
) {
  const why = !topology.online.includes(cpu)
    ? "it is not an online CPU of the host"
    : !topology.allowed.includes(cpu)
      ? "it is not among the CPUs this pool hands out"
      : onNode && !onNode.has(cpu)
        ? `it is not on NUMA node ${node}`
        : undefined;
  return why && new PoolUnknownResourceError({ type: "cpu", cpu }, why);
}

/**
 * CPUs for `owner`, by list or count: never one CPU to two owners unless both
 * share it, never a shared one to an exclusive request or the other way round.
 */
export function leaseCpusInto(
  draft: PoolState,
  env: TxEnv,
  owner: string,
  ask: CpuAsk,
): CpuLeaseRecord[] {
  const onNode = nodeCpus(env.topology, ask.node);
  const holders = cpuHolders(draft);
  const add = (cpu: number): CpuLeaseRecord => {
    const record: CpuLeaseRecord = { lease: "cpu", owner, cpu, shared: ask.shared, since: env.now };
    draft.leases.push(record);
    return record;
  };
  if (ask.cpus) {
    return ask.cpus.map((cpu) => {
      const unknown = unknownCpu(cpu, env.topology, onNode, ask.node);
      if (unknown) throw unknown;
      const current = holders.get(cpu) ?? [];
      // Asking again for what one holds is granted as it is.
      const mine = current.find((lease) => lease.owner === owner);
      if (mine) return mine;
      const blocking = current.find((lease) => !ask.shared || !lease.shared);
      if (blocking) throw busyBy(draft, { type: "cpu", cpu }, blocking.owner);
      return add(cpu);
    });
  }
  const candidates = env.topology.allowed.filter((cpu) => {
    if (onNode && !onNode.has(cpu)) return false;
    const current = holders.get(cpu) ?? [];
    if (current.some((lease) => lease.owner === owner)) return false;
    return ask.shared ? current.every((lease) => lease.shared) : current.length === 0;
  });
  // Shared: the least shared first, then the lowest.
  if (ask.shared)
    candidates.sort(
      (a, b) => (holders.get(a)?.length ?? 0) - (holders.get(b)?.length ?? 0) || a - b,
    );
  const count = ask.count ?? 0;
  if (candidates.length < count)
    throw new PoolExhaustedError({
      resource: "cpu",
      ...(ask.node === undefined ? {} : { node: ask.node }),
      requested: count,
      available: candidates.length,
    });
  return candidates
    .slice(0, count)
    .sort((a, b) => a - b)
    .map(add);
}
