/**
 * The state file, `STATE_DIR/state.jsonl`: one JSON object per line.
 *
 * ```
 * {"format":"qemu-kvm-pool","version":1,"generation":7,"updatedAt":"2025-01-01T12:00:00.000Z"}
 * {"owner":"vm0","holder":{"pid":4242,"startTime":"981234","bootId":"e14d…","kind":"client"},"client":{"id":"…","machine":"ctl-a","pid":4200},"since":"…"}
 * {"lease":"port","owner":"vm0","kind":"forward","port":6000,"since":"…"}
 * {"lease":"cpu","owner":"vm0","cpu":3,"shared":false,"since":"…"}
 * {"lease":"pci","owner":"vm0","address":"0000:81:02.1","function":"vf","pf":"0000:81:00.0","since":"…"}
 * {"end":4}
 * ```
 *
 * The header comes first; each owner line is followed by its leases; `end`
 * counts the records between header and end, so a truncated file is detected.
 * The holder object is the first object with a `"pid"` in an owner line: the
 * host-side awk program finds holder pids that way (see ../anchor/awk.ts).
 */
/** The header's `format`. */
export const POOL_STATE_FORMAT = "qemu-kvm-pool";
/** The header's `version`: what this version writes, and the newest it reads. */
export const POOL_STATE_VERSION = 1;

/** Port kind names, in the state file and in `options.ports`. */
export const KIND_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export interface HolderRecord {
  pid: number;
  /** Decimal, as in /proc/PID/stat (a bigint in the API). */
  startTime: string;
  bootId: string;
  kind: "client" | "process";
}

export interface ClientRecord {
  id: string;
  machine: string;
  pid: number;
}

export interface OwnerRecord {
  owner: string;
  holder: HolderRecord;
  client: ClientRecord;
  since: string;
}

export interface PortLeaseRecord {
  lease: "port";
  owner: string;
  kind: string;
  port: number;
  since: string;
}

export interface CpuLeaseRecord {
  lease: "cpu";
  owner: string;
  cpu: number;
  shared: boolean;
  since: string;
}

export interface PciLeaseRecord {
  lease: "pci";
  owner: string;
  address: string;
  function: "pf" | "vf" | "device";
  pf?: string;
  since: string;
}

export type LeaseRecord = PortLeaseRecord | CpuLeaseRecord | PciLeaseRecord;

export interface PoolState {
  generation: number;
  updatedAt: string | undefined;
  /** In file order. */
  owners: OwnerRecord[];
  /** In file order. */
  leases: LeaseRecord[];
}

export function emptyState(): PoolState {
  return { generation: 0, updatedAt: undefined, owners: [], leases: [] };
}

export function cloneState(state: PoolState): PoolState {
  return {
    generation: state.generation,
    updatedAt: state.updatedAt,
    owners: state.owners.map((owner) => ({
      ...owner,
      holder: { ...owner.holder },
      client: { ...owner.client },
    })),
    leases: state.leases.map((lease) => ({ ...lease })),
  };
}
