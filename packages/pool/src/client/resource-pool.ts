/** `openPool()` and the `ResourcePool` it resolves. */
import type { CallOptions, PortKind } from "@qemu-kvm/core";
import { checkCallOptions } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { adoptOwner, leaseAll, releaseOwner, transferOwner } from "../transactions/owners.js";
import { holderAlive, type Transaction } from "../transactions/transaction.js";
import type {
  CpuLease,
  CpuRequest,
  Lease,
  LeaseGrant,
  LeasePortOptions,
  LeaseRequest,
  OwnerInfo,
  PciLease,
  PoolOptions,
  PoolSnapshot,
  PortLease,
  ProcessRef,
  ResourcePool,
} from "../types.js";
import {
  checkCpuAsk,
  checkGivenPort,
  checkLeaseRequest,
  checkOwner,
  checkPciAddress,
  checkPortAsk,
  checkProcessRef,
} from "./arguments.js";
import { toCpuLease, toLease, toPciLease, toPortLease } from "./leases.js";
import { resolveOptions } from "./options.js";
import { operations, PoolClient, startAnchor } from "./pool-client.js";

/**
 * Opens the resource pool of `host`: starts this client's anchor on the host
 * (one long-lived `sh`), which resolves and creates the state directory and
 * reports the host's CPUs. Every process, local or over SSH, that opens a pool
 * on the same host with the same state directory shares its leases.
 *
 * Invalid options throw `ERR_INVALID_ARGUMENT` synchronously; a host that
 * cannot run the pool rejects with `ERR_POOL_HOST`; `timeoutMs` and `signal`
 * bound the start (`ERR_TIMEOUT`, `ERR_ABORTED`; with `timeoutMs: 0` nothing
 * is started).
 *
 * ```ts
 * await using pool = await openPool(createLocalHost());
 * const { port } = await pool.leasePort("vm0", "forward");
 * ```
 */
export function openPool(host: Host, options: PoolOptions = {}): Promise<ResourcePool> {
  const resolved = resolveOptions(options);
  return operations.trace("openPool", host.name, async () => {
    const anchor = await startAnchor(host, resolved, options);
    return new Pool(host, resolved, anchor);
  });
}

class Pool extends PoolClient implements ResourcePool {
  leasePort(
    owner: string,
    kind: PortKind | (string & {}),
    options: LeasePortOptions = {},
  ): Promise<PortLease> {
    checkOwner(owner);
    const { port, ...call } = checkCallOptions(options, ["port"]);
    const ask = { ...checkPortAsk(kind, "kind", this.portRanges), port: checkGivenPort(port) };
    const run = (tx: Transaction) =>
      toPortLease(leaseAll(tx, owner, { ports: [ask], cpus: undefined, pci: [] }).ports[0]!);
    return this.call(
      "leasePort",
      owner,
      { needs: { ports: this.portSpan([ask]) }, run },
      call,
      true,
    );
  }

  leaseCpus(owner: string, request: CpuRequest, options?: CallOptions): Promise<CpuLease[]> {
    checkOwner(owner);
    const cpus = checkCpuAsk(request);
    return this.call(
      "leaseCpus",
      owner,
      { run: (tx) => leaseAll(tx, owner, { ports: [], cpus, pci: [] }).cpus.map(toCpuLease) },
      options,
    );
  }

  leasePci(owner: string, address: string, options?: CallOptions): Promise<PciLease> {
    checkOwner(owner);
    const pci = [checkPciAddress(address, "address")];
    const run = (tx: Transaction) =>
      toPciLease(leaseAll(tx, owner, { ports: [], cpus: undefined, pci }).pci[0]!);
    return this.call("leasePci", owner, { needs: { pci }, run }, options);
  }

  lease(owner: string, request: LeaseRequest, options?: CallOptions): Promise<LeaseGrant> {
    checkOwner(owner);
    const asked = checkLeaseRequest(request, this.portRanges);
    const needs = {
      pci: asked.pci,
      ...(asked.ports.length > 0 ? { ports: this.portSpan(asked.ports) } : {}),
    };
    return this.call(
      "lease",
      owner,
      {
        needs,
        run: (tx) => {
          const grant = leaseAll(tx, owner, asked);
          return {
            ports: grant.ports.map(toPortLease),
            cpus: grant.cpus.map(toCpuLease),
            pci: grant.pci.map(toPciLease),
          };
        },
      },
      options,
    );
  }

  release(owner: string, options?: CallOptions): Promise<Lease[]> {
    checkOwner(owner);
    return this.call(
      "release",
      owner,
      { run: (tx) => releaseOwner(tx, owner).map(toLease) },
      options,
    );
  }

  transfer(owner: string, target: ProcessRef, options?: CallOptions): Promise<void> {
    checkOwner(owner);
    const { pid, startTime } = checkProcessRef(target);
    const run = (tx: Transaction) => transferOwner(tx, owner, pid, startTime);
    return this.call("transfer", owner, { needs: { pids: [pid] }, run }, options);
  }

  adopt(owner: string, options?: CallOptions): Promise<Lease[]> {
    checkOwner(owner);
    return this.call("adopt", owner, { run: (tx) => adoptOwner(tx, owner).map(toLease) }, options);
  }

  reclaim(options?: CallOptions): Promise<OwnerInfo[]> {
    const run = (tx: Transaction) =>
      tx.reclaimed.map(({ owner, leases }) => this.ownerInfo(owner, leases, false));
    return this.call("reclaim", undefined, { run }, options);
  }

  leases(options?: CallOptions): Promise<PoolSnapshot> {
    const run = (tx: Transaction): PoolSnapshot => {
      const { state, env } = tx;
      const owners = state.owners.map((owner) =>
        this.ownerInfo(
          owner,
          state.leases.filter((lease) => lease.owner === owner.owner),
          holderAlive(owner.holder, env),
        ),
      );
      return {
        generation: state.generation,
        updatedAt: state.updatedAt === undefined ? undefined : new Date(state.updatedAt),
        owners,
        leases: owners.flatMap((owner) => owner.leases),
      };
    };
    return this.call("leases", undefined, { mutating: false, run }, options);
  }
}
