import { ControlAbortError, ControlTimeoutError } from "./errors.js";

/** What every asynchronous operation of this package accepts. */
export interface CallOptions {
  /** Cancels the operation: it rejects with `ERR_ABORTED` (`cause` = `signal.reason`). */
  signal?: AbortSignal;
  /**
   * Rejects with `ERR_TIMEOUT` once this many milliseconds have passed (time
   * spent waiting for earlier operations included). `Infinity` waits without a
   * deadline. Each operation documents its default.
   */
  timeoutMs?: number;
}

/** Throws a `TypeError` unless `value` is a positive number (or `Infinity`). */
export function checkTimeout(value: number | undefined, name = "timeoutMs"): void {
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0)
    throw new TypeError(
      `${name} must be a positive number of milliseconds or Infinity, got ${value}`,
    );
}

/**
 * Arms a signal and a deadline for `operation`: calls `fail` once with a
 * `ControlAbortError` or `ControlTimeoutError`, whichever comes first. Returns
 * the disarm function, which removes the timer and the listener. If the signal
 * is already aborted, `fail` runs synchronously.
 */
export function arm(
  operation: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  fail: (error: ControlAbortError | ControlTimeoutError) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const disarm = () => {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    timer = undefined;
    onAbort = undefined;
  };
  if (signal?.aborted) {
    fail(new ControlAbortError({ operation, cause: signal.reason }));
    return disarm;
  }
  if (signal) {
    onAbort = () => {
      disarm();
      fail(new ControlAbortError({ operation, cause: signal.reason }));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  }
  // setTimeout caps at 2^31-1 ms (about 24.8 days): anything longer means no deadline.
  if (Number.isFinite(timeoutMs) && timeoutMs <= 0x7fffffff) {
    timer = setTimeout(() => {
      disarm();
      fail(new ControlTimeoutError({ operation, timeoutMs }));
    }, timeoutMs);
  }
  return disarm;
}

/**
 * Runs `work` under a signal and deadline: the signal given to `work` aborts
 * (with the `ERR_ABORTED`/`ERR_TIMEOUT` error as its reason) when the caller's
 * does or the deadline passes, and the returned promise rejects at once with
 * that error.
 */
export function withDeadline<T>(
  operation: string,
  options: CallOptions,
  defaultTimeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  checkTimeout(options.timeoutMs);
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const disarm = arm(
      operation,
      options.signal,
      options.timeoutMs ?? defaultTimeoutMs,
      (error) => {
        controller.abort(error);
        reject(error);
      },
    );
    if (controller.signal.aborted) return;
    work(controller.signal).then(
      (value) => {
        disarm();
        resolve(value);
      },
      (error: unknown) => {
        disarm();
        reject(error);
      },
    );
  });
}

/** Resolves after `ms`, or rejects with `signal.reason` when it aborts first. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
