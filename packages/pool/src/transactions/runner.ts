/**
 * Runs a batch of calls as one transaction: asks the anchor for the facts under
 * the lock, applies every call to them, commits the new state (or abandons),
 * and settles each call with its own answer.
 */
import { debugLog } from "@qemu-kvm/core";
import type { Anchor } from "../anchor/anchor.js";
import { anchorFailure } from "../anchor/failure.js";
import type { Response } from "../anchor/response.js";
import { PoolHostError, PoolStateError, PoolUnsafeError } from "../errors.js";
import { parsePoolState } from "../records/parse.js";
import { type ClientRecord, emptyState, type HolderRecord } from "../records/records.js";
import { serializePoolState } from "../records/serialize.js";
import type { CpuTopology, PortRange } from "../types.js";
import {
  type PciFacts,
  parseNetLines,
  parsePciLines,
  parseProcLines,
  parseSsLines,
} from "./facts.js";
import { failOperation, type Operation, succeedOperation } from "./operation.js";
import { ABANDON, commitMessage, requestLine } from "./request.js";
import { Transaction, type TxEnv } from "./transaction.js";

const debug = debugLog("pool");

/** How many times a transaction is tried again on a new anchor when the old one died before committing. */
export const ANCHOR_RETRIES = 2;

/** What the runner needs from the pool client. */
export interface RunnerContext {
  readonly hostName: string;
  readonly client: ClientRecord;
  readonly topology: CpuTopology;
  readonly portRanges: Readonly<Record<string, PortRange>>;
  /** The PCI devices of a described topology; `undefined`: read sysfs. */
  readonly describedPci: ReadonlyMap<string, PciFacts> | undefined;
  /** The live anchor, a new one if the last died. */
  liveAnchor(): Promise<Anchor>;
  /** Once the pool is closed or destroyed: the error a call named `operation` gets. */
  closedError(operation?: string): unknown;
  /** A transaction committed. */
  committed(): void;
}

/** The anchor as a holder record. */
export function anchorHolder(anchor: Anchor): HolderRecord {
  return {
    pid: anchor.info.pid,
    startTime: String(anchor.info.startTime),
    bootId: anchor.info.bootId,
    kind: "client",
  };
}

function section(facts: Response, tag: string) {
  return facts.sections.find((entry) => entry.tag === tag);
}

/** Runs `batch` (the calls not cancelled meanwhile) in one transaction; settles every call. */
export async function runBatch(context: RunnerContext, batch: Operation[]): Promise<void> {
  let anchorFailures = 0;
  for (;;) {
    const live = batch.filter((operation) => !operation.cancelled);
    if (live.length === 0) return;
    const failAll = (error: unknown) => {
      for (const operation of live)
        failOperation(operation, context.closedError(operation.name) ?? error);
    };
    let anchor: Anchor;
    let facts: Response;
    try {
      anchor = await context.liveAnchor();
    } catch (error) {
      return failAll(error);
    }
    try {
      const needs = live.map((operation) => operation.needs);
      facts = await anchor.request(requestLine(needs, context.describedPci === undefined));
    } catch (error) {
      // The anchor died before the facts: nothing was written. Try again on a new one.
      if (!context.closedError() && ++anchorFailures <= ANCHOR_RETRIES) continue;
      return failAll(error);
    }
    if (facts.status !== "error") return decide(context, anchor, facts, batch);
    const [reason = "error", ...words] = facts.detail.split(" ");
    if (reason === "lock-timeout") {
      debug("%s: still waiting for the lock (%s)", context.hostName, words.join(" "));
      continue;
    }
    return failAll(anchorFailure(context.hostName, facts, { committed: false }));
  }
}

/** The facts as a transaction sees them. */
function environment(context: RunnerContext, anchor: Anchor, facts: Response): TxEnv {
  const net = section(facts, "net");
  const ss = section(facts, "ss");
  return {
    statePath: `${anchor.info.dir}/state.jsonl`,
    now: new Date().toISOString(),
    client: context.client,
    holder: anchorHolder(anchor),
    bootId: anchor.info.bootId,
    procs: parseProcLines(section(facts, "proc")?.body ?? ""),
    netBusy: ss ? parseSsLines(ss.body) : net ? parseNetLines(net.body) : undefined,
    pci: context.describedPci ?? parsePciLines(section(facts, "pci")?.body ?? ""),
    topology: context.topology,
    portRanges: context.portRanges,
  };
}

/** The state read under the lock; `ERR_POOL_STATE` when it cannot be used. */
function openTransaction(context: RunnerContext, anchor: Anchor, facts: Response): Transaction {
  const env = environment(context, anchor, facts);
  if (section(facts, "unreadable"))
    throw new PoolStateError(env.statePath, "it exists but cannot be read");
  const state = section(facts, "state");
  return new Transaction(
    state?.args === "1" ? parsePoolState(state.body, env.statePath) : emptyState(),
    env,
  );
}

type Outcome = { operation: Operation } & (
  | { ok: true; value: unknown }
  | { ok: false; error: unknown }
);

/** Applies each call in turn; from now on none can be cancelled. */
function applyAll(context: RunnerContext, tx: Transaction, live: Operation[]): Outcome[] {
  tx.rehome();
  if (live.some((operation) => operation.mutating)) tx.reclaimDead();
  if (tx.reclaimed.length > 0)
    debug(
      "%s: reclaimed %s",
      context.hostName,
      tx.reclaimed
        .map(({ owner }) => `${owner.owner} (holder ${owner.holder.pid} gone)`)
        .join(", "),
    );
  return live.map((operation) => {
    operation.applied = true;
    operation.disarm();
    try {
      return { operation, ok: true as const, value: operation.run(tx) };
    } catch (error) {
      debug("%s: %s failed: %s", context.hostName, operation.name, String(error));
      return { operation, ok: false as const, error };
    }
  });
}

function settle(outcomes: Outcome[], commitError?: PoolHostError | PoolUnsafeError): void {
  for (const outcome of outcomes) {
    if (!outcome.ok) failOperation(outcome.operation, outcome.error);
    else if (commitError) failOperation(outcome.operation, commitError);
    else succeedOperation(outcome.operation, outcome.value);
  }
}

/** Writes the transaction's new state; the error every successful call then gets, if it failed. */
async function commit(
  context: RunnerContext,
  anchor: Anchor,
  tx: Transaction,
): Promise<PoolHostError | PoolUnsafeError | undefined> {
  tx.state.generation++;
  tx.state.updatedAt = tx.env.now;
  let result: Response;
  try {
    result = await anchor.request(commitMessage(serializePoolState(tx.state), anchor.nonce));
  } catch (error) {
    return new PoolHostError(
      context.hostName,
      "commit-unknown",
      "the host went away while committing: the change may or may not have been written (leases() tells)",
      { cause: error },
    );
  }
  if (result.status !== "committed") {
    // A state file planted in the meantime: refused (ERR_POOL_UNSAFE), nothing written.
    const failure = anchorFailure(context.hostName, result, { committed: false });
    if (PoolUnsafeError.isInstance(failure)) return failure;
    return new PoolHostError(
      context.hostName,
      result.detail.split(" ")[0] || "commit",
      `commit failed: ${result.detail}`,
      { committed: false },
    );
  }
  context.committed();
  debug("%s: committed generation %d", context.hostName, tx.state.generation);
  return undefined;
}

/** Applies the calls (those not cancelled while the facts were read) and commits (or not); settles every call. */
async function decide(
  context: RunnerContext,
  anchor: Anchor,
  facts: Response,
  batch: Operation[],
): Promise<void> {
  const live = batch.filter((operation) => !operation.cancelled);
  let tx: Transaction;
  try {
    tx = openTransaction(context, anchor, facts);
  } catch (error) {
    await anchor.request(ABANDON).catch(() => undefined);
    for (const operation of live) failOperation(operation, error);
    return;
  }
  const outcomes = applyAll(context, tx, live);
  if (!tx.changed) {
    // The anchor may die now; nothing was asked to change, so the answers stand.
    await anchor.request(ABANDON).catch(() => undefined);
    return settle(outcomes);
  }
  settle(outcomes, await commit(context, anchor, tx));
}
