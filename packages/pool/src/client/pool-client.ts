/** The pool client: the public API of a pool, over its anchor and its queue of calls. */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  type CallOptions,
  checkCallOptions,
  Deadline,
  debugLog,
  OperationChannel,
} from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { Anchor, type AnchorSettings } from "../anchor/anchor.js";
import { PoolClosedError } from "../errors.js";
import type { ClientRecord, LeaseRecord, OwnerRecord } from "../records/records.js";
import { releaseOwner } from "../transactions/owners.js";
import { anchorHolder, runBatch } from "../transactions/runner.js";
import type { Transaction } from "../transactions/transaction.js";
import type { CpuTopology, Holder, OwnerInfo, PortRange } from "../types.js";
import { AnchorKeeper } from "./anchors.js";
import { toHolder, toOwnerInfo } from "./leases.js";
import type { ResolvedOptions } from "./options.js";
import { OperationQueue, type Work } from "./queue.js";

const debug = debugLog("pool");
/** Each call of every pool, on `qemu-kvm:pool`. */
export const operations = new OperationChannel("pool");

/** The bound on `close()`'s final release. */
const CLOSE_RELEASE_TIMEOUT_MS = 10_000;

function anchorSettings(options: ResolvedOptions): AnchorSettings {
  return {
    stateDir: options.stateDir,
    expirySeconds: options.expirySeconds,
    periodSeconds: options.periodSeconds,
    lockWaitSeconds: options.lockWaitSeconds,
    umask: options.umask,
    heartbeatMs: options.heartbeatMs,
  };
}

/** Starts the client's anchor under the call's deadline; a late anchor is stopped. */
export async function startAnchor(
  host: Host,
  options: ResolvedOptions,
  call: CallOptions,
): Promise<Anchor> {
  const deadline = new Deadline("openPool", call);
  try {
    deadline.throwIfStopped();
    return await deadline.race(
      Anchor.start(host, anchorSettings(options), deadline.signal),
      (late) => late.kill(),
    );
  } finally {
    deadline.dispose();
  }
}

/**
 * The machinery every call of a pool shares: its anchor, its queue, its
 * lifetime. `ResourcePool`'s methods are in ./resource-pool.ts.
 */
export class PoolClient {
  readonly clientId = randomUUID();
  readonly host: Host;
  readonly topology: CpuTopology;
  readonly #options: ResolvedOptions;
  readonly #client: ClientRecord;
  readonly #anchors: AnchorKeeper;
  readonly #queue: OperationQueue;
  readonly #lifetime = new AbortController();
  /** Set by close() (once its release is done) and destroy(); public calls reject from then on. */
  #closed: PoolClosedError | undefined;
  #closing: Promise<void> | undefined;

  constructor(host: Host, options: ResolvedOptions, anchor: Anchor) {
    this.host = host;
    this.#options = options;
    this.#client = { id: this.clientId, machine: hostname(), pid: process.pid };
    this.topology = this.#resolveTopology(anchor);
    this.#anchors = new AnchorKeeper(host, anchorSettings(options), anchor, {
      lifetime: this.#lifetime.signal,
      ending: () => this.#closed !== undefined || this.#closing !== undefined,
      lost: () => {
        this.#queue.add("rehome", { run: () => undefined }, {}).catch((failure: unknown) => {
          debug("%s: taking the owners back failed: %s", host.name, String(failure));
        });
      },
    });
    this.#queue = new OperationQueue((batch) =>
      runBatch(
        {
          hostName: host.name,
          client: this.#client,
          topology: this.topology,
          portRanges: options.portRanges,
          describedPci: options.pci,
          liveAnchor: () => this.#anchors.live(),
          closedError: (operation) => this.#closedError(operation),
          committed: () => this.#anchors.committed(),
        },
        batch,
      ),
    );
  }

  #resolveTopology(anchor: Anchor): CpuTopology {
    const { info } = anchor;
    const described = this.#options.topologyCpus;
    const online = described?.online ?? info.online ?? [];
    let nodes = described?.nodes ?? info.nodes;
    if (nodes.size === 0) nodes = new Map([[0, online]]);
    const onlineSet = new Set(online);
    const wanted = this.#options.cpus;
    const allowed = wanted ? wanted.filter((cpu) => onlineSet.has(cpu)) : online;
    if (wanted && allowed.length !== wanted.length)
      debug("%s: options.cpus names CPUs that are not online; they are left out", this.host.name);
    return { online, nodes, isolated: described ? [] : info.isolated, allowed };
  }

  get statePath(): string {
    return `${this.#anchors.current.info.dir}/state.jsonl`;
  }

  get holder(): Holder {
    return toHolder(anchorHolder(this.#anchors.current));
  }

  get portRanges(): Readonly<Record<string, PortRange>> {
    return this.#options.portRanges;
  }

  /**
   * Runs `work` in the next transaction, traced on `qemu-kvm:pool` as
   * `operation` on `target`. `options` are checked here (synchronously);
   * pass `checked` when the caller has done it.
   */
  protected call<T>(
    operation: string,
    target: string | undefined,
    work: Work<T>,
    options: CallOptions | undefined,
    checked = false,
  ): Promise<T> {
    const call = checked ? (options ?? {}) : checkCallOptions(options);
    const name = target === undefined ? operation : `${operation} ${target}`;
    if (this.#closed || this.#closing)
      return Promise.reject(this.#closedError(name) ?? new PoolClosedError({ operation: name }));
    return operations.trace(operation, target, () => this.#queue.add(name, work, call));
  }

  protected ownerInfo(
    owner: OwnerRecord,
    leases: readonly LeaseRecord[],
    alive: boolean,
  ): OwnerInfo {
    return toOwnerInfo(owner, leases, alive, this.clientId);
  }

  /** A port span of the kinds' ranges (or the given ports), for the sockets to read. */
  protected portSpan(asks: readonly { kind: string; port?: number }[]): { lo: number; hi: number } {
    let lo = 65535;
    let hi = 1;
    for (const ask of asks) {
      const range =
        ask.port === undefined
          ? this.#options.portRanges[ask.kind]!
          : { from: ask.port, to: ask.port };
      lo = Math.min(lo, range.from);
      hi = Math.max(hi, range.to);
    }
    return { lo, hi };
  }

  close(): Promise<void> {
    this.#closing ??= operations.trace("close", this.host.name, () => this.#close());
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Calls already made finish; then this client's own owners (not transferred) are released.
    await this.#queue.idle();
    if (!this.#closed && this.#anchors.current.alive) {
      const releaseMine = (tx: Transaction) => {
        for (const owner of tx.state.owners)
          if (owner.client.id === this.clientId && owner.holder.kind === "client")
            releaseOwner(tx, owner.owner);
      };
      await this.#queue
        .add("close", { run: releaseMine }, { timeoutMs: CLOSE_RELEASE_TIMEOUT_MS })
        .catch((error: unknown) =>
          debug("%s: releasing on close failed: %s", this.host.name, String(error)),
        );
    }
    this.#closed ??= new PoolClosedError();
    this.#lifetime.abort(this.#closed);
    const anchor = this.#anchors.current;
    anchor.end();
    await anchor.exited;
  }

  /** Once closed or destroyed: the error a call named `operation` gets (with destroy()'s reason). */
  #closedError(operation?: string): PoolClosedError | undefined {
    if (!this.#closed) return undefined;
    const { cause } = this.#closed;
    return new PoolClosedError({ operation, ...(cause === undefined ? {} : { cause }) });
  }

  destroy(reason?: unknown): void {
    if (this.#closed && !this.#closing) return;
    const cause = reason === undefined ? {} : { cause: reason };
    this.#closed ??= new PoolClosedError(cause);
    this.#lifetime.abort(this.#closed);
    this.#queue.failQueued((operation) => this.#closedError(operation.name));
    this.#anchors.current.kill();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
