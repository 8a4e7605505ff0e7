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
 * host-side awk program finds holder pids that way (see anchor-script.ts).
 */
import { PoolStateError } from "./errors.js";
import { normalizePciAddress } from "./pci-address.js";

export const STATE_FORMAT = "qemu-kvm-pool";
export const STATE_VERSION = 1;

/** VM names, as `@qemu-kvm/bootline` accepts them. */
export const OWNER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** Port kind names. */
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

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isInteger(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

class Reader {
  constructor(
    readonly path: string,
    readonly line: number,
    readonly record: Json,
  ) {}

  fail(reason: string): never {
    throw new PoolStateError(this.path, reason, this.line);
  }

  string(key: string, pattern?: RegExp): string {
    const value = this.record[key];
    if (typeof value !== "string" || (pattern && !pattern.test(value)))
      this.fail(`${key} is ${JSON.stringify(value)}`);
    return value;
  }

  integer(key: string, min: number, max?: number): number {
    const value = this.record[key];
    if (!isInteger(value, min, max)) this.fail(`${key} is ${JSON.stringify(value)}`);
    return value;
  }

  boolean(key: string): boolean {
    const value = this.record[key];
    if (typeof value !== "boolean") this.fail(`${key} is ${JSON.stringify(value)}`);
    return value;
  }

  object(key: string): Reader {
    const value = this.record[key];
    if (!isObject(value)) this.fail(`${key} is ${JSON.stringify(value)}`);
    return new Reader(this.path, this.line, value);
  }

  pci(key: string): string {
    const value = this.string(key);
    if (normalizePciAddress(value) !== value)
      this.fail(`${key} is not a PCI address: ${JSON.stringify(value)}`);
    return value;
  }
}

function readOwner(reader: Reader): OwnerRecord {
  const holder = reader.object("holder");
  const client = reader.object("client");
  const kind = holder.string("kind");
  if (kind !== "client" && kind !== "process")
    return holder.fail(`holder.kind is ${JSON.stringify(kind)}`);
  return {
    owner: reader.string("owner", OWNER_NAME),
    holder: {
      pid: holder.integer("pid", 1),
      startTime: holder.string("startTime", /^\d{1,20}$/),
      bootId: holder.string("bootId"),
      kind,
    },
    client: {
      id: client.string("id"),
      machine: client.string("machine"),
      pid: client.integer("pid", 0),
    },
    since: reader.string("since"),
  };
}

function readLease(reader: Reader): LeaseRecord {
  const type = reader.record.lease;
  const owner = reader.string("owner", OWNER_NAME);
  const since = reader.string("since");
  switch (type) {
    case "port":
      return {
        lease: "port",
        owner,
        kind: reader.string("kind", KIND_NAME),
        port: reader.integer("port", 1, 65535),
        since,
      };
    case "cpu":
      return {
        lease: "cpu",
        owner,
        cpu: reader.integer("cpu", 0, 65535),
        shared: reader.boolean("shared"),
        since,
      };
    case "pci": {
      const fn = reader.string("function");
      if (fn !== "pf" && fn !== "vf" && fn !== "device")
        reader.fail(`function is ${JSON.stringify(fn)}`);
      const record: PciLeaseRecord = {
        lease: "pci",
        owner,
        address: reader.pci("address"),
        function: fn,
        since,
      };
      if (fn === "vf") record.pf = reader.pci("pf");
      return record;
    }
    default:
      return reader.fail(`unknown lease type ${JSON.stringify(type)}`);
  }
}

/**
 * Parses and validates a state file. Anything unexpected (a line that is not
 * JSON, a missing or wrong `end`, a newer version, a resource held twice) is a
 * `PoolStateError`: the pool never guesses.
 */
export function parseState(text: string, path: string): PoolState {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) throw new PoolStateError(path, "the file is empty");
  const records = lines.map((line, index) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new PoolStateError(path, `not JSON (${(error as Error).message})`, index + 1);
    }
    if (!isObject(value)) throw new PoolStateError(path, "not a JSON object", index + 1);
    return new Reader(path, index + 1, value);
  });
  const header = records[0]!;
  if (header.record.format !== STATE_FORMAT)
    header.fail(`not a pool state file (format ${JSON.stringify(header.record.format)})`);
  const version = header.integer("version", 1);
  if (version > STATE_VERSION)
    header.fail(
      `written by a newer version of @qemu-kvm/pool (state version ${version}, this one reads ${STATE_VERSION})`,
    );
  const updatedAt = header.record.updatedAt;
  if (updatedAt !== undefined && typeof updatedAt !== "string")
    return header.fail("updatedAt is not a string");
  const state: PoolState = {
    generation: header.integer("generation", 0),
    updatedAt,
    owners: [],
    leases: [],
  };
  const end = records.at(-1)!;
  if (records.length < 2 || !("end" in end.record))
    throw new PoolStateError(path, "truncated: the end record is missing", records.length);
  if (end.integer("end", 0) !== records.length - 2)
    end.fail(`end counts ${end.record.end} records, the file has ${records.length - 2}`);
  for (const reader of records.slice(1, -1)) {
    if ("owner" in reader.record && !("lease" in reader.record))
      state.owners.push(readOwner(reader));
    else if ("lease" in reader.record) state.leases.push(readLease(reader));
    else reader.fail("neither an owner nor a lease");
  }
  const problem = checkState(state);
  if (problem) throw new PoolStateError(path, problem);
  return state;
}

/**
 * The first violated invariant of a state, or `undefined`: owner names unique;
 * every lease's owner present; a port, a PCI device, an exclusively leased CPU
 * held once; no owner twice on one CPU; never a PF together with one of its VFs.
 */
export function checkState(state: PoolState): string | undefined {
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

/** The state file's text for `state`, owners each followed by their leases. */
export function serializeState(state: PoolState): string {
  const lines = [
    JSON.stringify({
      format: STATE_FORMAT,
      version: STATE_VERSION,
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
