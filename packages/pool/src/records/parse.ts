import { MAX_CPU, normalizePciAddress, VM_NAME_PATTERN } from "@qemu-kvm/core";
import { PoolStateError } from "../errors.js";
import { checkPoolState } from "./check.js";
import {
  KIND_NAME,
  type LeaseRecord,
  type OwnerRecord,
  type PciLeaseRecord,
  POOL_STATE_FORMAT,
  POOL_STATE_VERSION,
  type PoolState,
} from "./records.js";

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
    owner: reader.string("owner", VM_NAME_PATTERN),
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

/**
 * Port kinds renamed since they were written: version 1 files of
 * @qemu-kvm/pool 0.0.x call the migration kind `migrate` (core's name is
 * `migration`). Read under the new name; the next commit writes it so.
 */
const RENAMED_KINDS: Readonly<Record<string, string>> = { migrate: "migration" };

/** One reader per lease type: the fields after `lease`, `owner` and `since`. */
const LEASE_READERS: Readonly<
  Record<string, (reader: Reader, owner: string, since: string) => LeaseRecord>
> = {
  port(reader, owner, since) {
    const kind = reader.string("kind", KIND_NAME);
    return {
      lease: "port",
      owner,
      kind: RENAMED_KINDS[kind] ?? kind,
      port: reader.integer("port", 1, 65535),
      since,
    };
  },
  cpu: (reader, owner, since) => ({
    lease: "cpu",
    owner,
    cpu: reader.integer("cpu", 0, MAX_CPU),
    shared: reader.boolean("shared"),
    since,
  }),
  pci(reader, owner, since) {
    const fn = reader.string("function");
    if (fn !== "pf" && fn !== "vf" && fn !== "device")
      return reader.fail(`function is ${JSON.stringify(fn)}`);
    const record: PciLeaseRecord = {
      lease: "pci",
      owner,
      address: reader.pci("address"),
      function: fn,
      since,
    };
    if (fn === "vf") record.pf = reader.pci("pf");
    return record;
  },
};

function readLease(reader: Reader): LeaseRecord {
  const type = reader.record.lease;
  const read =
    typeof type === "string" && Object.hasOwn(LEASE_READERS, type) && LEASE_READERS[type];
  if (!read) return reader.fail(`unknown lease type ${JSON.stringify(type)}`);
  return read(reader, reader.string("owner", VM_NAME_PATTERN), reader.string("since"));
}

/** Each line as a JSON object, with its line number; `ERR_POOL_STATE` for one that is not. */
function readLines(text: string, path: string): Reader[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length === 0) throw new PoolStateError(path, "the file is empty");
  return lines.map((line, index) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new PoolStateError(path, `not JSON (${(error as Error).message})`, index + 1);
    }
    if (!isObject(value)) throw new PoolStateError(path, "not a JSON object", index + 1);
    return new Reader(path, index + 1, value);
  });
}

/** The header's facts: a pool state file of a version this one reads. */
function readHeader(header: Reader): Pick<PoolState, "generation" | "updatedAt"> {
  if (header.record.format !== POOL_STATE_FORMAT)
    header.fail(`not a pool state file (format ${JSON.stringify(header.record.format)})`);
  const version = header.integer("version", 1);
  if (version > POOL_STATE_VERSION)
    header.fail(
      `written by a newer version of @qemu-kvm/pool (state version ${version}, this one reads ${POOL_STATE_VERSION})`,
    );
  const updatedAt = header.record.updatedAt;
  if (updatedAt !== undefined && typeof updatedAt !== "string")
    return header.fail("updatedAt is not a string");
  return { generation: header.integer("generation", 0), updatedAt };
}

/**
 * Parses and validates a pool state file (`state.jsonl`). Anything unexpected
 * (a line that is not JSON, a missing or wrong `end`, a newer version, a
 * resource held twice) is a `PoolStateError` (`ERR_POOL_STATE`) naming `path`
 * and the line: the pool never guesses. Leases of the port kind `migrate`,
 * written by earlier versions, are read as `migration`.
 */
export function parsePoolState(text: string, path: string): PoolState {
  const records = readLines(text, path);
  const state: PoolState = { ...readHeader(records[0]!), owners: [], leases: [] };
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
  const problem = checkPoolState(state);
  if (problem) throw new PoolStateError(path, problem);
  return state;
}
