import { GuestAbortError, GuestTimeoutError } from "./errors.js";

export interface WaitOptions {
  /** Aborts the wait: it rejects with `ERR_ABORTED`. */
  signal?: AbortSignal;
  /** Deadline of the wait: it rejects with `ERR_TIMEOUT`. */
  timeoutMs?: number;
}

/**
 * Runs `task` under the caller's signal and a deadline of its own. `task` gets one
 * signal that fires on either; the result rejects with `GuestTimeoutError` or
 * `GuestAbortError` (the caller's reason as `cause`) even if `task` ignores the
 * signal. Timer and listener are removed when it settles.
 */
export async function withDeadline<T>(
  what: string,
  options: WaitOptions,
  defaultTimeoutMs: number,
  task: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  if (signal?.aborted) throw new GuestAbortError(`${what}: aborted`, { cause: signal.reason });
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new GuestTimeoutError(`${what}: no result after ${timeoutMs} ms`, timeoutMs),
      ),
    timeoutMs,
  );
  const onAbort = () =>
    controller.abort(new GuestAbortError(`${what}: aborted`, { cause: signal?.reason }));
  signal?.addEventListener("abort", onAbort, { once: true });
  let rejectOnAbort: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    rejectOnAbort = reject;
  });
  const onInnerAbort = () => rejectOnAbort(controller.signal.reason);
  controller.signal.addEventListener("abort", onInnerAbort, { once: true });
  try {
    return await Promise.race([task(controller.signal), aborted]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    controller.signal.removeEventListener("abort", onInnerAbort);
    // Let everything `task` still holds (listeners, children) know it is over.
    if (!controller.signal.aborted) controller.abort(new GuestAbortError(`${what}: finished`));
  }
}
