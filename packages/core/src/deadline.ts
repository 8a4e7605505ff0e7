import { AbortError, InvalidArgumentError, TimeoutError } from "./errors/shared.js";
import { checkObject, checkOptionKeys } from "./options.js";

/**
 * What every asynchronous operation of every qemu-kvm package accepts.
 *
 * The deadline rule, the same everywhere:
 * - `timeoutMs` absent: the operation's documented default.
 * - a number > 0: the call rejects with `ERR_TIMEOUT` once that many
 *   milliseconds have passed. Values above 2³¹−1 (about 24.8 days, the most a
 *   Node timer holds) are honoured in full, never clamped.
 * - `0`: the deadline has already passed: the call rejects with `ERR_TIMEOUT`
 *   and starts nothing (a deadline that a caller computed and ran out).
 * - `Infinity`: no deadline.
 * - negative, `NaN` or not a number: `ERR_INVALID_ARGUMENT`, thrown before
 *   anything starts.
 *
 * `signal` aborted: the call rejects with `ERR_ABORTED` (`cause` is
 * `signal.reason`); already aborted, it starts nothing.
 */
export interface CallOptions {
  /** Cancels the operation: it rejects with `ERR_ABORTED` (`cause` = `signal.reason`). */
  signal?: AbortSignal;
  /** Milliseconds until the operation rejects with `ERR_TIMEOUT`; see {@link CallOptions}. */
  timeoutMs?: number;
}

/** The longest delay one Node timer holds (2³¹−1 ms); longer deadlines chain timers. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws `ERR_INVALID_ARGUMENT` unless `value` is absent or a `timeoutMs` the rule accepts. */
export function checkTimeoutMs(
  value: unknown,
  field = "timeoutMs",
): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0)
    throw new InvalidArgumentError(field, "a number of milliseconds ≥ 0, or Infinity", value);
}

/** The keys every call's options may have. */
const CALL_OPTION_KEYS: readonly string[] = ["signal", "timeoutMs"];

/**
 * Checks an options object, as every package does: absent or a plain object,
 * no key but `signal`, `timeoutMs` and the call's own `extraKeys` (a misspelt
 * option is an error, never ignored), `signal` an `AbortSignal`, `timeoutMs`
 * as the deadline rule says. Throws `ERR_INVALID_ARGUMENT` naming the field;
 * returns the options (`{}` when absent).
 */
export function checkCallOptions<T extends object>(
  options: T | undefined,
  extraKeys: readonly string[] = [],
  field = "options",
): T {
  if (options === undefined) return {} as T;
  checkObject(options, field);
  checkOptionKeys(
    options,
    extraKeys.length === 0 ? CALL_OPTION_KEYS : [...CALL_OPTION_KEYS, ...extraKeys],
    field,
  );
  const { signal, timeoutMs } = options as CallOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgumentError(`${field}.signal`, "an AbortSignal", signal);
  checkTimeoutMs(timeoutMs, `${field}.timeoutMs`);
  return options;
}

/**
 * Calls `fire` once after `ms` milliseconds, however long (`Infinity`: never).
 * Returns the function that cancels it.
 */
export function startTimer(ms: number, fire: () => void): () => void {
  if (ms === Number.POSITIVE_INFINITY) return noop;
  if (ms <= MAX_TIMER_MS) {
    // The common case, on every call of every client: one timer, no extra closure.
    const timer = setTimeout(fire, ms);
    return clearTimeout.bind(undefined, timer);
  }
  let timer: NodeJS.Timeout;
  const arm = (remaining: number) => {
    timer = setTimeout(
      () => (remaining > MAX_TIMER_MS ? arm(remaining - MAX_TIMER_MS) : fire()),
      Math.min(remaining, MAX_TIMER_MS),
    );
  };
  arm(ms);
  return () => clearTimeout(timer);
}

function noop(): void {}

/**
 * Arms `signal` and a deadline of `timeoutMs` for `operation`: calls `fail`
 * once with an `AbortError` or a `TimeoutError`, whichever comes first, and
 * returns the function that disarms both. `fail` runs synchronously when the
 * signal is already aborted or `timeoutMs` is 0. For calls kept in a table of
 * pending requests (QMP, the guest agent), where a `Deadline` per call would
 * cost more than needed. `timeoutMs` must already be checked.
 */
export function armDeadline(
  operation: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  fail: (error: AbortError | TimeoutError) => void,
  hint?: string,
): () => void {
  if (signal?.aborted) {
    fail(new AbortError({ operation, cause: signal.reason }));
    return noop;
  }
  if (timeoutMs === 0) {
    fail(new TimeoutError({ operation, timeoutMs, hint }));
    return noop;
  }
  let onAbort: (() => void) | undefined;
  const clearTimer = startTimer(timeoutMs, () => {
    disarm();
    fail(new TimeoutError({ operation, timeoutMs, hint }));
  });
  const disarm = () => {
    clearTimer();
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    onAbort = undefined;
  };
  if (signal) {
    onAbort = () => {
      disarm();
      fail(new AbortError({ operation, cause: signal.reason }));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  }
  return disarm;
}

/** Why a {@link Deadline} stopped its operation. */
export type StopReason =
  | { kind: "timeout"; timeoutMs: number }
  | { kind: "abort"; cause: unknown }
  /** The resource's `lifetime` signal aborted (it was closed or destroyed); `cause` is its reason. */
  | { kind: "closed"; cause: unknown };

export interface DeadlineSettings {
  /** Used when the call gives no `timeoutMs`. Absent: no deadline. */
  defaultTimeoutMs?: number;
  /** Added to the timeout message, e.g. what usually causes it. */
  hint?: string;
  /**
   * The lifetime of the resource the call runs on: when it aborts, the call
   * stops with its reason (which should be the package's `ClosedError`).
   */
  lifetime?: AbortSignal;
}

/**
 * One call's deadline: the caller's `signal`, its `timeoutMs` (or the default)
 * and the resource's lifetime folded into one `signal`, which aborts with the
 * typed error as its reason. Dispose it when the call ends (`using`, or
 * `dispose()` in `finally`).
 */
export class Deadline implements Disposable {
  readonly operation: string;
  /** The deadline in effect, resolved from the options and the default; `Infinity` = none. */
  readonly timeoutMs: number;
  readonly #hint: string | undefined;
  readonly #controller = new AbortController();
  readonly #startedAt = performance.now();
  readonly #cleanups: (() => void)[] = [];
  #stop: StopReason | undefined;
  #error: unknown;

  constructor(operation: string, options: CallOptions = {}, settings: DeadlineSettings = {}) {
    checkTimeoutMs(options.timeoutMs);
    this.operation = operation;
    this.#hint = settings.hint;
    this.timeoutMs = options.timeoutMs ?? settings.defaultTimeoutMs ?? Number.POSITIVE_INFINITY;
    const { signal } = options;
    const { lifetime } = settings;
    if (lifetime?.aborted) this.#halt({ kind: "closed", cause: lifetime.reason });
    else if (signal?.aborted) this.#halt({ kind: "abort", cause: signal.reason });
    else if (this.timeoutMs === 0) this.#halt({ kind: "timeout", timeoutMs: 0 });
    else {
      const timeoutMs = this.timeoutMs;
      this.#cleanups.push(startTimer(timeoutMs, () => this.#halt({ kind: "timeout", timeoutMs })));
      // Through a signal of our own: many calls may share the caller's signal, and
      // a listener each would trip Node's MaxListenersExceededWarning on it.
      const own = signal ? AbortSignal.any([signal]) : undefined;
      this.#listen(own, () => this.#halt({ kind: "abort", cause: signal?.reason }));
      this.#listen(lifetime, () => this.#halt({ kind: "closed", cause: lifetime?.reason }));
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
    this.#error =
      reason.kind === "timeout"
        ? new TimeoutError({
            operation: this.operation,
            timeoutMs: reason.timeoutMs,
            hint: this.#hint,
          })
        : reason.kind === "abort"
          ? new AbortError({ operation: this.operation, cause: reason.cause })
          : reason.cause;
    this.#controller.abort(this.#error);
  }

  /** Aborts when the call must stop; its `reason` is {@link error}. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get stopReason(): StopReason | undefined {
    return this.#stop;
  }

  get stopped(): boolean {
    return this.#stop !== undefined;
  }

  /**
   * Why the call stopped, as the error to reject with: a `TimeoutError`, an
   * `AbortError`, or the lifetime's reason. Undefined while running.
   */
  error(): unknown {
    return this.#error;
  }

  throwIfStopped(): void {
    if (this.#stop) throw this.#error;
  }

  /** Milliseconds left (`Infinity` without a deadline, 0 once passed). */
  remainingMs(): number {
    if (this.timeoutMs === Number.POSITIVE_INFINITY) return this.timeoutMs;
    return Math.max(0, this.timeoutMs - (performance.now() - this.#startedAt));
  }

  /**
   * Settles like `promise`, or rejects with {@link error} as soon as the call
   * stops. `onLate` receives the value if it arrives after the stop (to
   * release it: a connection, a file handle).
   */
  race<T>(promise: Promise<T>, onLate?: (value: T) => void): Promise<T> {
    if (this.#stop) {
      promise.then(onLate, noop);
      return Promise.reject(this.#error);
    }
    return new Promise<T>((resolve, reject) => {
      const signal = this.signal;
      const onStop = () => {
        promise.then(onLate, noop);
        reject(this.#error);
      };
      signal.addEventListener("abort", onStop, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener("abort", onStop);
          if (!signal.aborted) resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onStop);
          reject(error);
        },
      );
    });
  }

  /** Removes the timer and listeners. */
  dispose(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Runs `work` under a {@link Deadline}: `work` gets a signal that aborts when
 * the caller's does, the deadline passes or the lifetime ends, and the
 * returned promise rejects at once in that case, with the typed error. Throws
 * `ERR_INVALID_ARGUMENT` synchronously for a bad `timeoutMs`; starts nothing
 * when the call is stopped before it begins.
 */
export function withDeadline<T>(
  operation: string,
  options: CallOptions | undefined,
  settings: DeadlineSettings,
  work: (signal: AbortSignal, deadline: Deadline) => Promise<T>,
): Promise<T> {
  const deadline = new Deadline(operation, options, settings);
  if (deadline.stopped) return Promise.reject(deadline.error());
  let promise: Promise<T>;
  try {
    promise = work(deadline.signal, deadline);
  } catch (error) {
    deadline.dispose();
    return Promise.reject(error);
  }
  return deadline.race(promise).finally(() => deadline.dispose());
}

/** Resolves after `ms` (any length), or rejects with `signal.reason` when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = startTimer(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
