import { PoolBusyError, PoolExhaustedError, PoolUnknownResourceError } from "../errors.js";
import type { PoolState, PortLeaseRecord } from "../records/records.js";
import { busyBy } from "./busy.js";
import type { PortAsk, TxEnv } from "./transaction.js";

export function leasePortInto(
  draft: PoolState,
  env: TxEnv,
  owner: string,
  ask: PortAsk,
): PortLeaseRecord {
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
