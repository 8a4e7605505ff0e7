import {
  type LeaseRecord,
  POOL_STATE_FORMAT,
  POOL_STATE_VERSION,
  type PoolState,
} from "./records.js";

/** The state file's text for `state`, owners each followed by their leases. */
export function serializePoolState(state: PoolState): string {
  const lines = [
    JSON.stringify({
      format: POOL_STATE_FORMAT,
      version: POOL_STATE_VERSION,
      generation: state.generation,
      updatedAt: state.updatedAt,
    }),
  ];
  const byOwner = new Map<string, LeaseRecord[]>();
  for (const lease of state.leases) {
    const list = byOwner.get(lease.owner) ?? [];
    list.push(lease);
    byOwner.set(lease.owner, list);
  }
  for (const owner of state.owners) {
    // Key order matters: the holder's pid must be the first "pid" of the line.
    lines.push(
      JSON.stringify({
        owner: owner.owner,
        holder: {
          pid: owner.holder.pid,
          startTime: owner.holder.startTime,
          bootId: owner.holder.bootId,
          kind: owner.holder.kind,
        },
        client: { id: owner.client.id, machine: owner.client.machine, pid: owner.client.pid },
        since: owner.since,
      }),
    );
    for (const lease of byOwner.get(owner.owner) ?? [])
      lines.push(JSON.stringify(serializeLease(lease)));
  }
  lines.push(JSON.stringify({ end: lines.length - 1 }));
  return `${lines.join("\n")}\n`;
}

function serializeLease(lease: LeaseRecord): LeaseRecord {
  switch (lease.lease) {
    case "port":
      return {
        lease: "port",
        owner: lease.owner,
        kind: lease.kind,
        port: lease.port,
        since: lease.since,
      };
    case "cpu":
      return {
        lease: "cpu",
        owner: lease.owner,
        cpu: lease.cpu,
        shared: lease.shared,
        since: lease.since,
      };
    case "pci":
      return {
        lease: "pci",
        owner: lease.owner,
        address: lease.address,
        function: lease.function,
        ...(lease.pf === undefined ? {} : { pf: lease.pf }),
        since: lease.since,
      };
  }
}
