/** The pool's public types (its records on disk are in ./records/records.ts). */
import type { CallOptions, PortKind } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";

/** An inclusive range of ports. */
export interface PortRange {
  from: number;
  to: number;
}

/** A process on the host, named by pid and start time (so a reused pid is a different process). */
export interface ProcessRef {
  pid: number;
  /** Field 22 of /proc/PID/stat, as `Host.processInfo()` reports it. */
  startTime: bigint;
}

/** The process a group of leases lives with. */
export interface Holder extends ProcessRef {
  /** The host's boot (`/proc/sys/kernel/random/boot_id`): after a reboot every holder is gone. */
  bootId: string;
  /** `client`: a pool client's anchor process; `process`: a process given to `transfer()`, e.g. a VM's QEMU. */
  kind: "client" | "process";
}

/** Fields every lease has. */
interface LeaseBase {
  /** The VM name the resource is leased to. */
  owner: string;
  /** When it was leased (the controller's clock). */
  since: Date;
}

export interface PortLease extends LeaseBase {
  type: "port";
  kind: string;
  port: number;
  /** For `display` ports: the VNC display number (`port - 5900`). */
  display?: number;
}

export interface CpuLease extends LeaseBase {
  type: "cpu";
  cpu: number;
  /** Leased with `shared: true`: other owners may share it (never one that holds it exclusively). */
  shared: boolean;
}

export interface PciLease extends LeaseBase {
  type: "pci";
  /** Full form, lower case: `0000:81:02.1`. */
  address: string;
  /** `pf`: an SR-IOV physical function; `vf`: a virtual function; `device`: any other device. */
  function: "pf" | "vf" | "device";
  /** For a VF: its PF. */
  pf?: string;
}

export type Lease = PortLease | CpuLease | PciLease;

/** An owner (VM) as `leases()` lists it. */
export interface OwnerInfo {
  owner: string;
  holder: Holder;
  /** Whether the holder is still running on the host; a dead owner is reclaimed by the next change. */
  alive: boolean;
  /** Made (or adopted) by this pool client. */
  mine: boolean;
  /** The pool client that made or adopted it: its id, machine and process. */
  client: { id: string; machine: string; pid: number };
  since: Date;
  leases: Lease[];
}

/** Every lease on the host, at one moment. */
export interface PoolSnapshot {
  /** Counts committed changes of the state file; 0 before the first. */
  generation: number;
  /** When the last change was committed (the controller's clock), if any was. */
  updatedAt: Date | undefined;
  owners: OwnerInfo[];
  /** Every lease of every owner. */
  leases: Lease[];
}

/** CPUs to lease: a list, a count, or either with options. */
export type CpuRequest =
  | readonly number[]
  | number
  | {
      /** These CPUs (or use `count`). */
      cpus?: readonly number[];
      /** This many CPUs, lowest free first (or use `cpus`). */
      count?: number;
      /** Only CPUs of this NUMA node. */
      node?: number;
      /** Allow other owners to share them (and take CPUs other owners share). Default false. */
      shared?: boolean;
    };

/** One port in a `lease()` request: a kind (lowest free port of its range) or a given port. */
export type PortLeaseRequest =
  | PortKind
  | (string & {})
  | { kind: PortKind | (string & {}); port?: number };

/** `leasePort()`'s options: a given port instead of the lowest free one. */
export interface LeasePortOptions extends CallOptions {
  /** This port (within 1–65535, not necessarily in the kind's range), if it is free. */
  port?: number;
}

/** Everything a VM needs, leased at once: all of it or none. */
export interface LeaseRequest {
  ports?: readonly PortLeaseRequest[];
  cpus?: CpuRequest;
  pci?: readonly string[];
}

/** What `lease()` granted, in request order. */
export interface LeaseGrant {
  ports: PortLease[];
  cpus: CpuLease[];
  pci: PciLease[];
}

/** The host's CPUs as the pool sees them. */
export interface CpuTopology {
  /** Online CPUs. */
  online: number[];
  /** NUMA node → its CPUs (one node 0 holding every CPU when the host has no NUMA information). */
  nodes: Map<number, number[]>;
  /** CPUs isolated from the scheduler (`isolcpus`), for information. */
  isolated: number[];
  /** The CPUs this pool hands out (`options.cpus`, default every online CPU). */
  allowed: number[];
}

/** A PCI device as a topology description gives it (for hosts without sysfs, and for tests). */
export interface PciDeviceDescription {
  address: string;
  /** Its VFs, if it is an SR-IOV PF (an empty list still makes it a PF). */
  vfs?: readonly string[];
}

/** A description of the host that replaces reading sysfs (tests, or hosts the pool must not probe). */
export interface TopologyDescription {
  cpus?: {
    online: readonly number[];
    /** NUMA node → CPUs. Default: one node 0 with every online CPU. */
    nodes?: Readonly<Record<number, readonly number[]>>;
  };
  /** The PCI devices leasable: PFs with their VFs, and plain devices. */
  pci?: readonly PciDeviceDescription[];
}

export interface HeartbeatOptions {
  /** How often the client tells its anchor it is alive. Default 5000 ms. */
  intervalMs?: number;
  /**
   * After this long without a word from the client (a crashed controller machine,
   * a network partition, a stopped process), the anchor exits and the client's
   * leases become reclaimable. Default 30 000 ms; at least 2 × `intervalMs`.
   */
  expiryMs?: number;
}

export interface PoolOptions extends CallOptions {
  /**
   * The directory on the host holding `state.jsonl` and `lock`. Default
   * `/run/qemu-kvm/pool` for root; for others `$XDG_RUNTIME_DIR/qemu-kvm/pool`
   * when that directory is theirs, else `/tmp/qemu-kvm-pool-UID`. Created with
   * mode 0700 if missing. It must belong to the pool's user and, if others may
   * write in it, have the sticky bit (else `ERR_POOL_UNSAFE`). Every client that
   * shares the host's resources must use the same directory (and run as the same
   * user).
   */
  stateDir?: string;
  /**
   * Port ranges by kind, merged over the defaults `forward` 6000–6999,
   * `serial` 7000–7999, `migration` 8000–8999, `display` 5900–5999 (VNC displays
   * 0–99). Other kinds may be added.
   */
  ports?: Readonly<Record<string, PortRange>>;
  /**
   * The host CPUs the pool hands out, as a list or a CPU list text (`"2-15,18"`,
   * `"2 3 4"`: core's syntax, CPUs 0–8191). Default: every online CPU.
   */
  cpus?: string | readonly number[];
  /** Use this description instead of the host's sysfs (CPUs, PCI or both). */
  topology?: TopologyDescription;
  /** The heartbeat between the client and its anchor on the host, or `false` for none. */
  heartbeat?: HeartbeatOptions | false;
  /**
   * Permission bits of the state and lock files. Default 0o600; 0o640 lets a
   * group read the state. A lock granting more than this is refused
   * (`ERR_POOL_UNSAFE`).
   */
  fileMode?: number;
}

/** The pool's handle, shared by every process that opens a pool on the same host and state directory. */
export interface ResourcePool extends AsyncDisposable {
  readonly host: Host;
  /** The state file on the host. */
  readonly statePath: string;
  /** This client's id, recorded with the owners it makes. */
  readonly clientId: string;
  /** This client's anchor on the host: the holder of its owners until they are transferred. */
  readonly holder: Holder;
  readonly topology: CpuTopology;
  readonly portRanges: Readonly<Record<string, PortRange>>;

  /** The lowest free port of `kind`'s range, or `options.port` if it is free. */
  leasePort(
    owner: string,
    kind: PortKind | (string & {}),
    options?: LeasePortOptions,
  ): Promise<PortLease>;
  /** CPUs by list or count; resolves the leases in CPU order. */
  leaseCpus(owner: string, request: CpuRequest, options?: CallOptions): Promise<CpuLease[]>;
  /** A PCI device: a PF (none of its VFs may be leased), a VF (its PF may not be) or a plain device. */
  leasePci(owner: string, address: string, options?: CallOptions): Promise<PciLease>;
  /** Ports, CPUs and PCI devices together: all of them or none. */
  lease(owner: string, request: LeaseRequest, options?: CallOptions): Promise<LeaseGrant>;
  /** Releases everything `owner` holds; resolves what was released (empty for an unknown owner). */
  release(owner: string, options?: CallOptions): Promise<Lease[]>;
  /**
   * Makes `process` (e.g. the VM's QEMU) the holder of `owner`'s leases: they then
   * outlive this client and are reclaimed only when that process is gone.
   */
  transfer(owner: string, process: ProcessRef, options?: CallOptions): Promise<void>;
  /** Takes over an owner made by another client whose holder is a transferred process (after attaching to its VM). */
  adopt(owner: string, options?: CallOptions): Promise<Lease[]>;
  /** Removes every owner whose holder is gone; resolves them. */
  reclaim(options?: CallOptions): Promise<OwnerInfo[]>;
  /** Every owner and lease on the host, with the liveness of each holder. */
  leases(options?: CallOptions): Promise<PoolSnapshot>;
  /** Releases the owners still held by this client's anchor, then stops the anchor. */
  close(): Promise<void>;
  /** Stops the anchor at once; its owners become reclaimable. */
  destroy(reason?: unknown): void;
}
