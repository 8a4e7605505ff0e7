import { MonitorAbortError, MonitorTimeoutError } from "./errors.js";

/** What every asynchronous operation of this package accepts. */
export interface CallOptions {
  /** Cancels the operation: it rejects with `ERR_ABORTED` (`cause` = `signal.reason`). */
  signal?: AbortSignal;
  /**
   * Rejects with `ERR_TIMEOUT` once this many milliseconds have passed.
   * `Infinity` waits without a deadline. Each operation documents its default.
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
 * `MonitorAbortError` or `MonitorTimeoutError`, whichever comes first. Returns
 * the disarm function, which removes the timer and the listener. If the signal
 * is already aborted, `fail` runs synchronously.
 */
export function arm(
  operation: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  fail: (error: MonitorAbortError | MonitorTimeoutError) => void,
  hint?: string,
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
    fail(new MonitorAbortError({ operation, cause: signal.reason }));
    return disarm;
  }
  if (signal) {
    onAbort = () => {
      disarm();
      fail(new MonitorAbortError({ operation, cause: signal.reason }));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  }
  // setTimeout caps at 2^31-1 ms (≈ 24.8 days): anything longer is treated as no deadline.
  if (Number.isFinite(timeoutMs) && timeoutMs <= 0x7fffffff) {
    timer = setTimeout(() => {
      disarm();
      fail(new MonitorTimeoutError({ operation, timeoutMs, hint }));
    }, timeoutMs);
  }
  return disarm;
}

/**
 * Runs `work` under a signal and deadline: the signal given to `work` aborts
 * when the caller's does or the deadline passes, and the returned promise
 * rejects at once with `ERR_ABORTED` or `ERR_TIMEOUT` in that case.
 */
export function withDeadline<T>(
  operation: string,
  options: CallOptions,
  defaultTimeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
  hint?: string,
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
      hint,
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
