/**
 * The errors of @qemu-kvm/pool. Every one is a member of qemu-kvm's one error
 * family (`QemuKvmError.isInstance(error)`), with a literal `code` to match on;
 * the README lists them all. Timeouts, aborts and invalid arguments are core's
 * `TimeoutError`, `AbortError` and `InvalidArgumentError`.
 */
import { ClosedError, QemuKvmError } from "@qemu-kvm/core";

/** Every code a pool call can throw or reject with. */
export type PoolErrorCode =
  | "ERR_POOL_EXHAUSTED"
  | "ERR_POOL_BUSY"
  | "ERR_POOL_UNKNOWN_RESOURCE"
  | "ERR_POOL_CONFLICT"
  | "ERR_POOL_HOLDER_GONE"
  | "ERR_POOL_STATE"
  | "ERR_POOL_HOST"
  | "ERR_POOL_UNSAFE"
  | "ERR_POOL_CLOSED"
  | "ERR_INVALID_ARGUMENT"
  | "ERR_TIMEOUT"
  | "ERR_ABORTED";

/** A resource as errors name it. */
export type ResourceRef =
  | { type: "port"; port: number; kind?: string }
  | { type: "cpu"; cpu: number }
  | { type: "pci"; address: string }
  | { type: "owner"; owner: string }
  | { type: "node"; node: number }
  | { type: "port-kind"; kind: string };

/** Who holds something, as errors report it. */
export interface HolderFacts {
  /** The owner (VM name) holding it. */
  owner: string;
  /** The process on the host its leases live with. */
  pid: number;
  /** `client`: a pool client's anchor; `process`: a process given to `transfer()` (a VM). */
  kind: "client" | "process";
  /** The machine and process of the pool client that made the owner. */
  machine: string;
  controllerPid: number;
}

export function describeResource(resource: ResourceRef): string {
  switch (resource.type) {
    case "port":
      return `port ${resource.port}${resource.kind ? ` (${resource.kind})` : ""}`;
    case "cpu":
      return `CPU ${resource.cpu}`;
    case "pci":
      return `PCI device ${resource.address}`;
    case "owner":
      return `owner ${resource.owner}`;
    case "node":
      return `NUMA node ${resource.node}`;
    case "port-kind":
      return `port kind ${JSON.stringify(resource.kind)}`;
  }
}

/** Nothing left to lease: every port of the range is leased or in use, or too few CPUs are free. */
export class PoolExhaustedError extends QemuKvmError {
  static override readonly errorId = "PoolExhaustedError";
  readonly code = "ERR_POOL_EXHAUSTED" as const;
  readonly resource: "port" | "cpu";
  /** The port kind (ports). */
  readonly kind: string | undefined;
  /** The range searched (ports). */
  readonly range: { from: number; to: number } | undefined;
  /** The NUMA node asked for (CPUs). */
  readonly node: number | undefined;
  /** How many were asked for, and how many were free. */
  readonly requested: number;
  readonly available: number;

  constructor(facts: {
    resource: "port" | "cpu";
    kind?: string;
    range?: { from: number; to: number };
    node?: number;
    requested: number;
    available: number;
  }) {
    const what =
      facts.resource === "port"
        ? `no free ${facts.kind} port in ${facts.range?.from}–${facts.range?.to}`
        : `${facts.requested} CPU${facts.requested === 1 ? "" : "s"} asked${
            facts.node === undefined ? "" : ` on NUMA node ${facts.node}`
          }, ${facts.available} free`;
    super(`pool exhausted: ${what}`);
    this.resource = facts.resource;
    this.kind = facts.kind;
    this.range = facts.range;
    this.node = facts.node;
    this.requested = facts.requested;
    this.available = facts.available;
  }
}

/**
 * The resource is taken: leased to another owner (`holder` tells who), or, for a
 * port, in use on the host by a process outside the pool (`inUseOnHost`). For
 * `{ type: "owner" }` the owner name belongs to another live pool client.
 */
export class PoolBusyError extends QemuKvmError {
  static override readonly errorId = "PoolBusyError";
  readonly code = "ERR_POOL_BUSY" as const;
  readonly resource: ResourceRef;
  /** The owner that holds it, if the pool leased it. */
  readonly owner: string | undefined;
  readonly holder: HolderFacts | undefined;
  /** For a port: the sockets on the host bound to it (`tcp`, `udp6`…), when no lease explains it. */
  readonly inUseOnHost: readonly string[] | undefined;

  constructor(
    resource: ResourceRef,
    facts: { holder?: HolderFacts; inUseOnHost?: readonly string[]; detail?: string },
  ) {
    const by = facts.holder
      ? ` by ${facts.holder.owner} (held by ${facts.holder.kind === "process" ? "process" : "pool client anchor"} ${
          facts.holder.pid
        }, made by pid ${facts.holder.controllerPid} on ${facts.holder.machine})`
      : facts.inUseOnHost
        ? ` on the host (${facts.inUseOnHost.join(", ")} socket)`
        : "";
    super(`${describeResource(resource)} is busy${by}${facts.detail ? `: ${facts.detail}` : ""}`);
    this.resource = resource;
    this.owner = facts.holder?.owner;
    this.holder = facts.holder;
    this.inUseOnHost = facts.inUseOnHost;
  }
}

/** No such CPU (offline, or outside the pool's CPUs), NUMA node, PCI device, port kind or owner. */
export class PoolUnknownResourceError extends QemuKvmError {
  static override readonly errorId = "PoolUnknownResourceError";
  readonly code = "ERR_POOL_UNKNOWN_RESOURCE" as const;
  readonly resource: ResourceRef;

  constructor(resource: ResourceRef, detail: string) {
    super(`unknown ${describeResource(resource)}: ${detail}`);
    this.resource = resource;
  }
}

/** A PF and one of its VFs can never be leased at the same time (to any owners, even one). */
export class PoolConflictError extends QemuKvmError {
  static override readonly errorId = "PoolConflictError";
  readonly code = "ERR_POOL_CONFLICT" as const;
  /** The device asked for. */
  readonly address: string;
  /** The leased device it conflicts with (its PF, or one of its VFs). */
  readonly conflictsWith: string;
  /** The owner of `conflictsWith`. */
  readonly owner: string;

  constructor(facts: {
    address: string;
    conflictsWith: string;
    owner: string;
    relation: "pf" | "vf";
  }) {
    super(
      facts.relation === "pf"
        ? `PCI device ${facts.address} is a VF of ${facts.conflictsWith}, which is leased to ${facts.owner}`
        : `PCI device ${facts.address} is the PF of ${facts.conflictsWith}, which is leased to ${facts.owner}`,
    );
    this.address = facts.address;
    this.conflictsWith = facts.conflictsWith;
    this.owner = facts.owner;
  }
}

/** `transfer()` was given a process that is not running on the host (or not with that start time). */
export class PoolHolderGoneError extends QemuKvmError {
  static override readonly errorId = "PoolHolderGoneError";
  readonly code = "ERR_POOL_HOLDER_GONE" as const;
  readonly pid: number;
  readonly startTime: bigint;

  constructor(pid: number, startTime: bigint) {
    super(`process ${pid} (start time ${startTime}) is not running on the host`);
    this.pid = pid;
    this.startTime = startTime;
  }
}

/**
 * The state file cannot be used: not parseable, truncated, inconsistent (a
 * resource held twice), or written by a newer version. The pool never resets
 * it: look at it (`path`, `line`), and remove it by hand only when no VM of the
 * pool is running.
 */
export class PoolStateError extends QemuKvmError {
  static override readonly errorId = "PoolStateError";
  readonly code = "ERR_POOL_STATE" as const;
  /** The state file on the host. */
  readonly path: string;
  /** The 1-based line at fault, when one is. */
  readonly line: number | undefined;
  readonly reason: string;

  constructor(path: string, reason: string, line?: number) {
    super(`pool state ${path}${line === undefined ? "" : `:${line}`} is unusable: ${reason}`);
    this.path = path;
    this.line = line;
    this.reason = reason;
  }
}

/**
 * The host side failed: a required tool is missing (`flock`, `awk`…), the state
 * directory cannot be created or written, the connection was lost, the
 * pool's process on the host died. `committed` tells whether the change asked for
 * was written: `false` (certainly not) or `undefined` (unknown: the connection
 * was lost while committing; `leases()` tells).
 */
export class PoolHostError extends QemuKvmError {
  static override readonly errorId = "PoolHostError";
  readonly code = "ERR_POOL_HOST" as const;
  readonly host: string;
  /** A short reason from the host script (`missing-tool`, `state-dir`, `lock`…), or `anchor-exited`. */
  readonly reason: string;
  readonly committed: false | undefined;

  constructor(
    host: string,
    reason: string,
    message: string,
    options: { cause?: unknown; committed?: false } = {},
  ) {
    super(`pool on ${host}: ${message}`, options);
    this.host = host;
    this.reason = reason;
    this.committed = options.committed;
  }
}

/** What `PoolUnsafeError` refused: the state directory, the lock file or the state file. */
export type PoolPathKind = "state-dir" | "lock" | "state-file";

const PATH_LABELS: Record<PoolPathKind, string> = {
  "state-dir": "state directory",
  lock: "lock file",
  "state-file": "state file",
};

/**
 * The pool refused a path on the host that another user could have planted or
 * could tamper with: a symbolic link, a file another user owns, a state
 * directory that is not this user's (or root's), or one others may write in
 * without the sticky bit, a lock file others may open. Nothing was written
 * through it. Fix the directory by hand: see the README's *Options*.
 */
export class PoolUnsafeError extends QemuKvmError {
  static override readonly errorId = "PoolUnsafeError";
  readonly code = "ERR_POOL_UNSAFE" as const;
  readonly host: string;
  /** What was refused. */
  readonly kind: PoolPathKind;
  /** Its path on the host. */
  readonly path: string;
  /** Why, e.g. "it is a symbolic link, which the pool never follows". */
  readonly reason: string;

  constructor(host: string, kind: PoolPathKind, path: string, reason: string) {
    super(`pool on ${host}: refused the ${PATH_LABELS[kind]} ${path}: ${reason}`);
    this.host = host;
    this.kind = kind;
    this.path = path;
    this.reason = reason;
  }
}

/**
 * The pool was closed (`close()`) or destroyed (`destroy()`) before `operation`
 * completed; `cause` is the reason given to `destroy()`. `ClosedError.isInstance`
 * catches it with the other packages' closed errors.
 */
export class PoolClosedError extends ClosedError {
  static override readonly errorId = "PoolClosedError";
  readonly code = "ERR_POOL_CLOSED" as const;

  constructor(fields: { operation?: string; cause?: unknown } = {}) {
    super({ resource: "pool", ...fields });
  }
}
