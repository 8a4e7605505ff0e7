import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Host } from "@qemu-kvm/host";
import {
  adoptOwner,
  type CpuAsk,
  holderAlive,
  leaseAll,
  type PortAsk,
  releaseOwner,
  Transaction,
  type TxEnv,
  transferOwner,
} from "./allocate.js";
import { Anchor, type AnchorSettings } from "./anchor.js";
import { debug } from "./debug.js";
import {
  PoolAbortError,
  PoolArgumentError,
  PoolClosedError,
  PoolError,
  PoolHostError,
  PoolStateError,
  PoolTimeoutError,
} from "./errors.js";
import {
  type PciFacts,
  parseNetLines,
  parsePciLines,
  parseProcLines,
  parseSsLines,
  type Response,
} from "./facts.js";
import {
  checkCallOptions,
  checkCpuAsk,
  checkOwner,
  checkPciAddress,
  checkPortAsk,
  type ResolvedOptions,
  resolveOptions,
} from "./options.js";
import {
  type ClientRecord,
  emptyState,
  type HolderRecord,
  type LeaseRecord,
  type OwnerRecord,
  parseState,
  serializeState,
} from "./state.js";
import type {
  CallOptions,
  CpuLease,
  CpuRequest,
  CpuTopology,
  Holder,
  Lease,
  LeaseGrant,
  LeaseRequest,
  OwnerInfo,
  PciLease,
  PoolOptions,
  PoolSnapshot,
  PortLease,
  PortRange,
  ProcessRef,
  ResourcePool,
} from "./types.js";

/**
 * Opens the resource pool of `host`: starts this client's anchor on the host
 * (one long-lived `sh`), which resolves and creates the state directory and
 * reports the host's CPUs. Every process, local or over SSH, that opens a pool
 * on the same host with the same state directory shares its leases.
 *
 * Invalid options throw `ERR_POOL_INVALID_ARGUMENT` synchronously; a host that
 * cannot run the pool rejects with `ERR_POOL_HOST`.
 *
 * ```ts
 * await using pool = await openPool(localHost());
 * const { port } = await pool.leasePort("vm0", "forward");
 * ```
 */
export function openPool(host: Host, options: PoolOptions = {}): Promise<ResourcePool> {
  const resolved = resolveOptions(options);
  return PoolClient.open(host, resolved, options);
}

/** How many times a transaction is tried again on a new anchor when the old one died before committing. */
const ANCHOR_RETRIES = 2;
/** The bound on `close()`'s final release. */
const CLOSE_RELEASE_TIMEOUT_MS = 10_000;

interface Needs {
  ports?: { lo: number; hi: number };
  pids?: number[];
  pci?: string[];
}

/** One call waiting for (or inside) a transaction. */
interface Operation {
  name: string;
  mutating: boolean;
  needs: Needs;
  run(tx: Transaction): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Set once the call was settled early (abort, timeout, destroy): its transaction skips it. */
  cancelled: boolean;
  /** Set once it was applied to a transaction: from then on it completes, whatever the signal does. */
  applied: boolean;
  disarm(): void;
}

function toDate(iso: string): Date {
  return new Date(iso);
}

function toLease(record: LeaseRecord): Lease {
  const since = toDate(record.since);
  switch (record.lease) {
    case "port": {
      const lease: PortLease = {
        type: "port",
        owner: record.owner,
        kind: record.kind,
        port: record.port,
        since,
      };
      if (record.kind === "display" && record.port >= 5900) lease.display = record.port - 5900;
      return lease;
    }
    case "cpu":
      return { type: "cpu", owner: record.owner, cpu: record.cpu, shared: record.shared, since };
    case "pci": {
      const lease: PciLease = {
        type: "pci",
        owner: record.owner,
        address: record.address,
        function: record.function,
        since,
      };
      if (record.pf !== undefined) lease.pf = record.pf;
      return lease;
    }
  }
}

function toHolder(record: HolderRecord): Holder {
  return {
    pid: record.pid,
    startTime: BigInt(record.startTime),
    bootId: record.bootId,
    kind: record.kind,
  };
}

class PoolClient implements ResourcePool {
  readonly clientId = randomUUID();
  readonly #client: ClientRecord;
  #anchor: Anchor;
  #anchorStarting: Promise<Anchor> | undefined;
  /** Anchors that died in a row without a transaction committing in between. */
  #restarts = 0;
  readonly #queue: Operation[] = [];
  #draining: Promise<void> | undefined;
  /** Set by close() (public calls reject) and destroy(). */
  #closed: PoolClosedError | undefined;
  #closing: Promise<void> | undefined;
  readonly #lifetime = new AbortController();
  readonly topology: CpuTopology;

  private constructor(
    readonly host: Host,
    readonly options: ResolvedOptions,
    anchor: Anchor,
  ) {
    this.#client = { id: this.clientId, machine: hostname(), pid: process.pid };
    this.#anchor = anchor;
    this.topology = this.#resolveTopology(anchor);
    this.#watch(anchor);
  }

  static async open(host: Host, options: ResolvedOptions, call: CallOptions): Promise<PoolClient> {
    const anchor = await withDeadline("openPool", call, (signal) =>
      Anchor.start(host, PoolClient.#settings(options), signal),
    );
    return new PoolClient(host, options, anchor);
  }

  static #settings(options: ResolvedOptions): AnchorSettings {
    return {
      stateDir: options.stateDir,
      expirySeconds: options.expirySeconds,
      periodSeconds: options.periodSeconds,
      lockWaitSeconds: options.lockWaitSeconds,
      umask: options.umask,
      heartbeatMs: options.heartbeatMs,
    };
  }

  #resolveTopology(anchor: Anchor): CpuTopology {
    const { info } = anchor;
    const described = this.options.topologyCpus;
    const online = described?.online ?? info.online ?? [];
    let nodes = described?.nodes ?? info.nodes;
    if (nodes.size === 0) nodes = new Map([[0, online]]);
    const onlineSet = new Set(online);
    const allowed = this.options.cpus
      ? this.options.cpus.filter((cpu) => onlineSet.has(cpu))
      : online;
    if (this.options.cpus && allowed.length !== this.options.cpus.length)
      debug(
        "pool %s: options.cpus names CPUs that are not online; they are left out",
        this.host.name,
      );
    return { online, nodes, isolated: described ? [] : info.isolated, allowed };
  }

  get statePath(): string {
    return `${this.#anchor.info.dir}/state.jsonl`;
  }

  get holder(): Holder {
    return toHolder(this.#holderRecord(this.#anchor));
  }

  get portRanges(): Readonly<Record<string, PortRange>> {
    return this.options.portRanges;
  }

  #holderRecord(anchor: Anchor): HolderRecord {
    return {
      pid: anchor.info.pid,
      startTime: String(anchor.info.startTime),
      bootId: anchor.info.bootId,
      kind: "client",
    };
  }

  /** When an anchor dies while the pool is open, a new one takes its owners back (if nobody reclaimed them yet). */
  #watch(anchor: Anchor): void {
    void anchor.exited.then((error) => {
      if (this.#closed || this.#closing || anchor !== this.#anchor) return;
      debug("pool %s: anchor %d is gone (%s)", this.host.name, anchor.info.pid, error.message);
      if (this.#restarts >= ANCHOR_RETRIES) return;
      this.#restarts++;
      this.#enqueue("rehome", true, {}, () => undefined, {}).catch((failure: unknown) =>
        debug("pool %s: taking the owners back failed: %s", this.host.name, String(failure)),
      );
    });
  }

  /** The live anchor, starting a new one if the last died. */
  #liveAnchor(): Promise<Anchor> {
    if (this.#anchor.alive) return Promise.resolve(this.#anchor);
    if (this.#closed) return Promise.reject(this.#closed);
    this.#anchorStarting ??= (async () => {
      try {
        const anchor = await Anchor.start(
          this.host,
          PoolClient.#settings(this.options),
          this.#lifetime.signal,
        );
        // destroy() may have run after start() stopped listening for the abort.
        if (this.#closed) {
          anchor.kill();
          await anchor.exited;
          throw this.#closed;
        }
        if (anchor.info.dir !== this.#anchor.info.dir)
          debug("pool %s: the state directory changed to %s", this.host.name, anchor.info.dir);
        this.#anchor = anchor;
        this.#watch(anchor);
        return anchor;
      } finally {
        this.#anchorStarting = undefined;
      }
    })();
    return this.#anchorStarting;
  }

  // --- public API ---------------------------------------------------------

  leasePort(
    owner: string,
    kind: string,
    options: CallOptions & { port?: number } = {},
  ): Promise<PortLease> {
    checkOwner(owner);
    const { port, ...call } = options ?? {};
    const ask = checkPortAsk(
      port === undefined ? kind : { kind, port },
      "kind",
      this.options.portRanges,
    );
    const needs = { ports: this.#portSpan([ask]) };
    return this.#enqueue(
      `leasePort ${owner} ${kind}`,
      true,
      needs,
      (tx) => {
        const grant = leaseAll(tx, owner, { ports: [ask], cpus: undefined, pci: [] });
        return toLease(grant.ports[0]!) as PortLease;
      },
      call,
    );
  }

  leaseCpus(owner: string, request: CpuRequest, options: CallOptions = {}): Promise<CpuLease[]> {
    checkOwner(owner);
    const ask = checkCpuAsk(request);
    return this.#enqueue(
      `leaseCpus ${owner}`,
      true,
      {},
      (tx) => {
        const grant = leaseAll(tx, owner, { ports: [], cpus: ask, pci: [] });
        return grant.cpus.map((record) => toLease(record) as CpuLease);
      },
      options,
    );
  }

  leasePci(owner: string, address: string, options: CallOptions = {}): Promise<PciLease> {
    checkOwner(owner);
    const normalized = checkPciAddress(address, "address");
    return this.#enqueue(
      `leasePci ${owner} ${normalized}`,
      true,
      { pci: [normalized] },
      (tx) => {
        const grant = leaseAll(tx, owner, { ports: [], cpus: undefined, pci: [normalized] });
        return toLease(grant.pci[0]!) as PciLease;
      },
      options,
    );
  }

  lease(owner: string, request: LeaseRequest, options: CallOptions = {}): Promise<LeaseGrant> {
    checkOwner(owner);
    if (typeof request !== "object" || request === null)
      throw new PoolArgumentError("request", "must be { ports?, cpus?, pci? }");
    if (request.ports !== undefined && !Array.isArray(request.ports))
      throw new PoolArgumentError("request.ports", "must be a list");
    if (request.pci !== undefined && !Array.isArray(request.pci))
      throw new PoolArgumentError("request.pci", "must be a list");
    const ports: PortAsk[] = (request.ports ?? []).map((entry, index) =>
      checkPortAsk(entry, `request.ports[${index}]`, this.options.portRanges),
    );
    const cpus: CpuAsk | undefined =
      request.cpus === undefined ? undefined : checkCpuAsk(request.cpus, "request.cpus");
    const pci = (request.pci ?? []).map((address, index) =>
      checkPciAddress(address, `request.pci[${index}]`),
    );
    if (new Set(pci).size !== pci.length)
      throw new PoolArgumentError("request.pci", "names a device twice");
    if (ports.length === 0 && cpus === undefined && pci.length === 0)
      throw new PoolArgumentError("request", "asks for nothing");
    const needs: Needs = { pci };
    if (ports.length > 0) needs.ports = this.#portSpan(ports);
    return this.#enqueue(
      `lease ${owner}`,
      true,
      needs,
      (tx) => {
        const grant = leaseAll(tx, owner, { ports, cpus, pci });
        return {
          ports: grant.ports.map((record) => toLease(record) as PortLease),
          cpus: grant.cpus.map((record) => toLease(record) as CpuLease),
          pci: grant.pci.map((record) => toLease(record) as PciLease),
        };
      },
      options,
    );
  }

  release(owner: string, options: CallOptions = {}): Promise<Lease[]> {
    checkOwner(owner);
    return this.#enqueue(
      `release ${owner}`,
      true,
      {},
      (tx) => releaseOwner(tx, owner).map(toLease),
      options,
    );
  }

  transfer(owner: string, target: ProcessRef, options: CallOptions = {}): Promise<void> {
    checkOwner(owner);
    if (typeof target !== "object" || target === null)
      throw new PoolArgumentError("process", "must be { pid, startTime }");
    const { pid, startTime } = target;
    if (!Number.isInteger(pid) || pid < 1)
      throw new PoolArgumentError("process.pid", `must be a positive integer (got ${String(pid)})`);
    if (typeof startTime !== "bigint" || startTime < 0n)
      throw new PoolArgumentError("process.startTime", "must be a bigint from processInfo()");
    return this.#enqueue(
      `transfer ${owner}`,
      true,
      { pids: [pid] },
      (tx) => {
        transferOwner(tx, owner, pid, startTime);
      },
      options,
    );
  }

  adopt(owner: string, options: CallOptions = {}): Promise<Lease[]> {
    checkOwner(owner);
    return this.#enqueue(
      `adopt ${owner}`,
      true,
      {},
      (tx) => adoptOwner(tx, owner).map(toLease),
      options,
    );
  }

  reclaim(options: CallOptions = {}): Promise<OwnerInfo[]> {
    return this.#enqueue(
      "reclaim",
      true,
      {},
      (tx) => tx.reclaimed.map(({ owner, leases }) => this.#ownerInfo(owner, leases, false)),
      options,
    );
  }

  leases(options: CallOptions = {}): Promise<PoolSnapshot> {
    return this.#enqueue(
      "leases",
      false,
      {},
      (tx) => {
        const { state } = tx;
        const owners = state.owners.map((owner) =>
          this.#ownerInfo(
            owner,
            state.leases.filter((lease) => lease.owner === owner.owner),
            holderAlive(owner.holder, tx.env),
          ),
        );
        return {
          generation: state.generation,
          updatedAt: state.updatedAt === undefined ? undefined : toDate(state.updatedAt),
          owners,
          leases: owners.flatMap((owner) => owner.leases),
        } satisfies PoolSnapshot;
      },
      options,
    );
  }

  #ownerInfo(owner: OwnerRecord, leases: LeaseRecord[], alive: boolean): OwnerInfo {
    return {
      owner: owner.owner,
      holder: toHolder(owner.holder),
      alive,
      mine: owner.client.id === this.clientId,
      client: { ...owner.client },
      since: toDate(owner.since),
      leases: leases.map(toLease),
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Calls already made finish; then this client's own owners (not transferred) are released.
      await this.#idle();
      if (!this.#closed && this.#anchor.alive) {
        await this.#enqueue(
          "close",
          true,
          {},
          (tx) => {
            for (const owner of tx.state.owners.filter(
              (record) => record.client.id === this.clientId && record.holder.kind === "client",
            ))
              releaseOwner(tx, owner.owner);
          },
          { timeoutMs: CLOSE_RELEASE_TIMEOUT_MS },
          true,
        ).catch((error: unknown) =>
          debug("pool %s: releasing on close failed: %s", this.host.name, String(error)),
        );
      }
      this.#closed ??= new PoolClosedError();
      this.#lifetime.abort(this.#closed);
      const anchor = this.#anchor;
      anchor.end();
      await anchor.exited;
    })();
    return this.#closing;
  }

  destroy(reason?: unknown): void {
    if (this.#closed && !this.#closing) return;
    this.#closed ??= new PoolClosedError(reason === undefined ? {} : { cause: reason });
    this.#lifetime.abort(this.#closed);
    for (const operation of this.#queue.splice(0)) this.#fail(operation, this.#closed);
    this.#anchor.kill();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // --- transactions -----------------------------------------------------

  #portSpan(asks: readonly PortAsk[]): { lo: number; hi: number } {
    let lo = 65535;
    let hi = 1;
    for (const ask of asks) {
      const range =
        ask.port === undefined
          ? this.options.portRanges[ask.kind]!
          : { from: ask.port, to: ask.port };
      lo = Math.min(lo, range.from);
      hi = Math.max(hi, range.to);
    }
    return { lo, hi };
  }

  /** Queues a call; it runs in the next transaction (with whatever else is queued then). */
  #enqueue<T>(
    name: string,
    mutating: boolean,
    needs: Needs,
    run: (tx: Transaction) => T,
    options: CallOptions,
    internal = false,
  ): Promise<T> {
    const { signal, timeoutMs } = checkCallOptions(options);
    if (!internal && (this.#closed || this.#closing))
      return Promise.reject(this.#closed ?? new PoolClosedError());
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const operation: Operation = {
        name,
        mutating,
        needs,
        run,
        resolve: resolve as (value: unknown) => void,
        reject,
        cancelled: false,
        applied: false,
        disarm: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      const cancel = (error: PoolError) => {
        if (operation.applied || operation.cancelled) return;
        this.#fail(operation, error);
      };
      const onAbort = () => cancel(new PoolAbortError(name, { cause: signal?.reason }));
      if (signal?.aborted) {
        reject(new PoolAbortError(name, { cause: signal.reason }));
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs <= 0x7fffffff)
        timer = setTimeout(() => cancel(new PoolTimeoutError(name, timeoutMs)), timeoutMs);
      this.#queue.push(operation);
      this.#drain();
    });
  }

  #fail(operation: Operation, error: unknown): void {
    operation.cancelled = true;
    operation.disarm();
    operation.reject(error);
  }

  #succeed(operation: Operation, value: unknown): void {
    operation.cancelled = true;
    operation.disarm();
    operation.resolve(value);
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = (async () => {
      try {
        for (;;) {
          const batch = this.#queue.splice(0).filter((operation) => !operation.cancelled);
          if (batch.length === 0) return;
          await this.#transact(batch);
        }
      } finally {
        this.#draining = undefined;
      }
    })();
  }

  async #idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #transact(batch: Operation[]): Promise<void> {
    let anchorFailures = 0;
    for (;;) {
      const live = batch.filter((operation) => !operation.cancelled);
      if (live.length === 0) return;
      let anchor: Anchor;
      try {
        anchor = await this.#liveAnchor();
      } catch (error) {
        for (const operation of live) this.#fail(operation, this.#closed ?? error);
        return;
      }
      let facts: Response;
      try {
        facts = await anchor.request(this.#requestLine(live));
      } catch (error) {
        // The anchor died before the facts: nothing was written. Try again on a new one.
        if (!this.#closed && ++anchorFailures <= ANCHOR_RETRIES) continue;
        for (const operation of live) this.#fail(operation, this.#closed ?? error);
        return;
      }
      if (facts.status === "error") {
        const [reason = "error", ...words] = facts.detail.split(" ");
        if (reason === "lock-timeout") {
          debug("pool %s: still waiting for the lock (%s)", this.host.name, words.join(" "));
          continue;
        }
        const error = new PoolHostError(this.host.name, reason, words.join(" ") || facts.detail, {
          committed: false,
        });
        for (const operation of live) this.#fail(operation, error);
        return;
      }
      await this.#decide(anchor, facts, batch);
      return;
    }
  }

  #requestLine(operations: readonly Operation[]): string {
    let lo = 65535;
    let hi = 0;
    const pids = new Set<number>();
    const pci = new Set<string>();
    for (const { needs } of operations) {
      if (needs.ports) {
        lo = Math.min(lo, needs.ports.lo);
        hi = Math.max(hi, needs.ports.hi);
      }
      for (const pid of needs.pids ?? []) pids.add(pid);
      if (!this.options.pci) for (const address of needs.pci ?? []) pci.add(address);
    }
    const net = hi > 0 ? `1 ${lo} ${hi}` : "0 0 0";
    return `t ${net} ${[...pids].join(",") || "-"} ${[...pci].join(",") || "-"}\n`;
  }

  /** Applies the batch to the facts and commits (or not); settles every operation. */
  async #decide(anchor: Anchor, facts: Response, batch: Operation[]): Promise<void> {
    const section = (tag: string) => facts.sections.find((entry) => entry.tag === tag);
    const path = `${anchor.info.dir}/state.jsonl`;
    const live = batch.filter((operation) => !operation.cancelled);
    let tx: Transaction;
    try {
      if (section("unreadable")) throw new PoolStateError(path, "it exists but cannot be read");
      const stateSection = section("state");
      const state = stateSection?.args === "1" ? parseState(stateSection.body, path) : emptyState();
      tx = new Transaction(state, this.#env(anchor, facts));
    } catch (error) {
      await anchor.request("a\n").catch(() => undefined);
      for (const operation of live) this.#fail(operation, error);
      return;
    }
    tx.rehome();
    if (live.some((operation) => operation.mutating)) tx.reclaimDead();
    if (tx.reclaimed.length > 0)
      debug(
        "pool %s: reclaimed %s",
        this.host.name,
        tx.reclaimed
          .map(({ owner }) => `${owner.owner} (holder ${owner.holder.pid} gone)`)
          .join(", "),
      );
    const outcomes = live.map((operation) => {
      operation.applied = true;
      operation.disarm();
      try {
        return { operation, ok: true as const, value: operation.run(tx) };
      } catch (error) {
        if (!(error instanceof PoolError))
          debug("pool %s: %s failed: %s", this.host.name, operation.name, String(error));
        return { operation, ok: false as const, error };
      }
    });
    const settle = (commitError?: PoolHostError) => {
      for (const outcome of outcomes) {
        if (!outcome.ok) this.#fail(outcome.operation, outcome.error);
        else if (commitError) this.#fail(outcome.operation, commitError);
        else this.#succeed(outcome.operation, outcome.value);
      }
    };
    if (!tx.changed) {
      // The anchor may die now; nothing was asked to change, so the answers stand.
      await anchor.request("a\n").catch(() => undefined);
      settle();
      return;
    }
    tx.state.generation++;
    tx.state.updatedAt = tx.env.now;
    const text = serializeState(tx.state);
    let result: Response;
    try {
      // The nonce after the data proves to the anchor that all of it arrived.
      result = await anchor.request(`c ${Buffer.byteLength(text)}\n${text}${anchor.nonce}\n`);
    } catch (error) {
      settle(
        new PoolHostError(
          this.host.name,
          "commit-unknown",
          "the host went away while committing: the change may or may not have been written (leases() tells)",
          { cause: error },
        ),
      );
      return;
    }
    if (result.status !== "committed") {
      settle(
        new PoolHostError(
          this.host.name,
          result.detail.split(" ")[0] ?? "commit",
          `commit failed: ${result.detail}`,
          {
            committed: false,
          },
        ),
      );
      return;
    }
    this.#restarts = 0;
    debug(
      "pool %s: committed generation %d (%d operations)",
      this.host.name,
      tx.state.generation,
      live.length,
    );
    settle();
  }

  #env(anchor: Anchor, facts: Response): TxEnv {
    const section = (tag: string) => facts.sections.find((entry) => entry.tag === tag);
    const net = section("net");
    const ss = section("ss");
    let pci: Map<string, PciFacts | undefined>;
    if (this.options.pci) pci = this.options.pci;
    else pci = parsePciLines(section("pci")?.body ?? "");
    return {
      now: new Date().toISOString(),
      client: this.#client,
      holder: this.#holderRecord(anchor),
      bootId: anchor.info.bootId,
      procs: parseProcLines(section("proc")?.body ?? ""),
      netBusy: ss ? parseSsLines(ss.body) : net ? parseNetLines(net.body) : undefined,
      pci,
      topology: this.topology,
      portRanges: this.options.portRanges,
    };
  }
}

/** Runs `work` with a signal that aborts on the caller's signal or timeout; maps both to pool errors. */
async function withDeadline<T>(
  name: string,
  options: CallOptions,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { signal, timeoutMs } = checkCallOptions(options);
  if (signal?.aborted) throw new PoolAbortError(name, { cause: signal.reason });
  const controller = new AbortController();
  const onAbort = () => controller.abort(new PoolAbortError(name, { cause: signal?.reason }));
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer =
    timeoutMs !== undefined && Number.isFinite(timeoutMs) && timeoutMs <= 0x7fffffff
      ? setTimeout(() => controller.abort(new PoolTimeoutError(name, timeoutMs)), timeoutMs)
      : undefined;
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
