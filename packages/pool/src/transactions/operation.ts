import type { Transaction } from "./transaction.js";

/** What a call needs read on the host under the lock, besides the state file. */
export interface Needs {
  /** Sockets bound to these ports. */
  ports?: { lo: number; hi: number };
  /** `/proc/PID/stat` of these processes. */
  pids?: number[];
  /** sysfs facts of these PCI devices. */
  pci?: string[];
}

/** One call waiting for (or inside) a transaction. */
export interface Operation {
  name: string;
  /** Changes the state (so the transaction also reclaims dead owners). */
  mutating: boolean;
  needs: Needs;
  /** Applies the call to the transaction; its result (or error) settles the call. */
  run(tx: Transaction): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Set once the call was settled early (abort, timeout, destroy): its transaction skips it. */
  cancelled: boolean;
  /** Set once it was applied to a transaction: from then on it completes, whatever the signal does. */
  applied: boolean;
  /** Removes the call's deadline and abort listener. */
  disarm(): void;
}

export function failOperation(operation: Operation, error: unknown): void {
  operation.cancelled = true;
  operation.disarm();
  operation.reject(error);
}

export function succeedOperation(operation: Operation, value: unknown): void {
  operation.cancelled = true;
  operation.disarm();
  operation.resolve(value);
}
