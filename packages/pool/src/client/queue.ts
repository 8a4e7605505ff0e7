/**
 * The calls waiting for a transaction. Calls made while one runs wait for the
 * next, and share it: one transaction, each call with its own answer.
 */
import { armDeadline, type CallOptions } from "@qemu-kvm/core";
import { failOperation, type Needs, type Operation } from "../transactions/operation.js";
import type { Transaction } from "../transactions/transaction.js";

/** What a call does in its transaction. */
export interface Work<T> {
  /** Changes the state (default true). */
  mutating?: boolean;
  needs?: Needs;
  run(tx: Transaction): T;
}

export class OperationQueue {
  readonly #queue: Operation[] = [];
  readonly #runBatch: (batch: Operation[]) => Promise<void>;
  #draining: Promise<void> | undefined;

  constructor(runBatch: (batch: Operation[]) => Promise<void>) {
    this.#runBatch = runBatch;
  }

  /**
   * Queues a call (its options already checked); it runs in the next
   * transaction. Its signal and deadline cancel it until it is applied, then
   * it completes whatever they do. Already aborted, or `timeoutMs: 0`, it
   * rejects without being queued.
   */
  add<T>(name: string, work: Work<T>, { signal, timeoutMs }: CallOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const operation: Operation = {
        name,
        mutating: work.mutating ?? true,
        needs: work.needs ?? {},
        run: work.run,
        resolve: resolve as (value: unknown) => void,
        reject,
        cancelled: false,
        applied: false,
        disarm: () => {},
      };
      const disarm = armDeadline(name, signal, timeoutMs ?? Number.POSITIVE_INFINITY, (error) => {
        if (!operation.applied && !operation.cancelled) failOperation(operation, error);
      });
      if (operation.cancelled) return;
      operation.disarm = disarm;
      this.#queue.push(operation);
      this.#drain();
    });
  }

  /** Rejects every queued call (not those inside a transaction). */
  failQueued(error: (operation: Operation) => unknown): void {
    for (const operation of this.#queue.splice(0)) failOperation(operation, error(operation));
  }

  /** Resolves once no transaction runs and nothing is queued. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = (async () => {
      try {
        for (;;) {
          const batch = this.#queue.splice(0).filter((operation) => !operation.cancelled);
          if (batch.length === 0) return;
          await this.#runBatch(batch);
        }
      } finally {
        this.#draining = undefined;
      }
    })();
  }
}
