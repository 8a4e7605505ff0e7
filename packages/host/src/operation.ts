import {
  type CommandFacts,
  HostAbortError,
  HostArgumentError,
  type HostClosedError,
  HostTimeoutError,
} from "./errors.js";
import type { OperationOptions } from "./host.js";

/** Why an operation was stopped before it finished. */
export type StopReason =
  | { kind: "timeout"; timeoutMs: number }
  | { kind: "abort"; cause: unknown }
  | { kind: "closed"; error: HostClosedError };

/** Throws `ERR_HOST_INVALID_ARGUMENT` unless `value` is undefined or a finite number ≥ 0. */
export function checkDuration(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    throw new HostArgumentError(field, `must be a finite number ≥ 0 (got ${String(value)})`);
}

/**
 * One call's deadline: the caller's `AbortSignal`, its `timeoutMs` and the host's
 * own lifetime (destroy) folded into one `signal`. The typed error is built when
 * needed (`error(facts)`), so a timed-out `exec` can carry what the command wrote.
 * `dispose()` removes the timer and listeners (call it in `finally`).
 */
export class Operation {
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #cleanups: (() => void)[] = [];
  #stop: StopReason | undefined;

  constructor(
    readonly name: string,
    readonly host: string,
    options: OperationOptions,
    lifetime: AbortSignal,
  ) {
    checkDuration(options.timeoutMs, "timeoutMs");
    const { signal, timeoutMs } = options;
    if (lifetime.aborted) this.#halt({ kind: "closed", error: lifetime.reason as HostClosedError });
    else if (signal?.aborted) this.#halt({ kind: "abort", cause: signal.reason });
    else {
      if (timeoutMs !== undefined)
        this.#timer = setTimeout(() => this.#halt({ kind: "timeout", timeoutMs }), timeoutMs);
      this.#listen(signal, () => this.#halt({ kind: "abort", cause: signal!.reason }));
      this.#listen(lifetime, () =>
        this.#halt({ kind: "closed", error: lifetime.reason as HostClosedError }),
      );
    }
  }

  #listen(signal: AbortSignal | undefined, onAbort: () => void): void {
    if (!signal) return;
    signal.addEventListener("abort", onAbort, { once: true });
    this.#cleanups.push(() => signal.removeEventListener("abort", onAbort));
  }

  #halt(reason: StopReason): void {
    if (this.#stop) return;
    this.#stop = reason;
    this.#controller.abort(reason);
  }

  /** Aborted when the call must stop; `stopReason` says why. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get stopReason(): StopReason | undefined {
    return this.#stop;
  }

  /** The typed error for the stop: `ERR_TIMEOUT`, `ERR_ABORTED` or `ERR_HOST_CLOSED`. */
  error(facts?: CommandFacts): Error {
    const stop = this.#stop;
    if (!stop) return new Error(`${this.name}: not stopped`);
    switch (stop.kind) {
      case "timeout":
        return new HostTimeoutError(this.name, stop.timeoutMs, { host: this.host, facts });
      case "abort":
        return new HostAbortError(this.name, { cause: stop.cause, host: this.host, facts });
      case "closed":
        return stop.error;
    }
  }

  throwIfStopped(): void {
    if (this.#stop) throw this.error();
  }

  /**
   * Settles like `promise`, or rejects with `error()` as soon as the operation is
   * stopped. `onLate` receives the value if it arrives after the stop (to release it).
   */
  race<T>(promise: Promise<T>, onLate?: (value: T) => void): Promise<T> {
    if (this.#stop) {
      promise.then(onLate, () => {});
      return Promise.reject(this.error());
    }
    return new Promise<T>((resolve, reject) => {
      const onStop = () => {
        promise.then(onLate, () => {});
        reject(this.error());
      };
      this.signal.addEventListener("abort", onStop, { once: true });
      promise.then(
        (value) => {
          this.signal.removeEventListener("abort", onStop);
          // After a stop, `onStop` already handed the value to `onLate`.
          if (!this.signal.aborted) resolve(value);
        },
        (error: unknown) => {
          this.signal.removeEventListener("abort", onStop);
          reject(error);
        },
      );
    });
  }

  dispose(): void {
    clearTimeout(this.#timer);
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }
}
