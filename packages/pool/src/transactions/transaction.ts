/**
 * One transaction's working state: the state file as read under the lock, the
 * facts read with it, and the pool's rules applied to a copy, which replaces
 * the state only when an operation succeeds (a batch of operations in one
 * transaction never leaves half of a failed one behind).
 */
import { PoolStateError } from "../errors.js";
import { checkPoolState } from "../records/check.js";
import {
  type ClientRecord,
  cloneState,
  type HolderRecord,
  type LeaseRecord,
  type OwnerRecord,
  type PoolState,
} from "../records/records.js";
import type { CpuTopology, PortRange } from "../types.js";
import type { PciFacts, ProcStat } from "./facts.js";

/** What a transaction knows besides the state. */
export interface TxEnv {
  /** The state file on the host. */
  statePath: string;
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
  pci: ReadonlyMap<string, PciFacts | undefined>;
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

/** The same process: pid, start time and boot. */
export function sameHolder(a: HolderRecord, b: HolderRecord): boolean {
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
      // Never reached unless the pool has a bug: the state is refused rather than written.
      const problem = checkPoolState(draft);
      if (problem)
        throw new PoolStateError(
          this.env.statePath,
          `an operation of @qemu-kvm/pool would break the state, which is left as it was: ${problem}`,
        );
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
