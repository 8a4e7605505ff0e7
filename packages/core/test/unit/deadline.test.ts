import { afterEach, describe, expect, test, vi } from "vitest";
import {
  AbortError,
  armDeadline,
  checkCallOptions,
  Deadline,
  delay,
  InvalidArgumentError,
  MAX_TIMER_MS,
  startTimer,
  TimeoutError,
  withDeadline,
} from "../../src/index.js";

afterEach(() => {
  vi.useRealTimers();
});

function never(): Promise<never> {
  return new Promise(() => {});
}

describe("the deadline rule", () => {
  test("absent: the operation's default applies", async () => {
    vi.useFakeTimers();
    const result = withDeadline("op", {}, { defaultTimeoutMs: 50 }, never);
    const caught = expect(result).rejects.toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 50 });
    await vi.advanceTimersByTimeAsync(50);
    await caught;
  });

  test("absent with no default: no deadline, no timer", () => {
    vi.useFakeTimers();
    using deadline = new Deadline("op", {});
    expect(deadline.timeoutMs).toBe(Number.POSITIVE_INFINITY);
    expect(vi.getTimerCount()).toBe(0);
  });

  test("0: rejects with ERR_TIMEOUT at once and starts nothing", async () => {
    const work = vi.fn(never);
    await expect(
      withDeadline("op", { timeoutMs: 0 }, { defaultTimeoutMs: 5 }, work),
    ).rejects.toSatisfy((error) => TimeoutError.isInstance(error) && error.timeoutMs === 0);
    expect(work).not.toHaveBeenCalled();
  });

  test("Infinity: no deadline, also when the default has one", () => {
    vi.useFakeTimers();
    using deadline = new Deadline(
      "op",
      { timeoutMs: Number.POSITIVE_INFINITY },
      { defaultTimeoutMs: 5 },
    );
    expect(vi.getTimerCount()).toBe(0);
    expect(deadline.remainingMs()).toBe(Number.POSITIVE_INFINITY);
  });

  test.each([
    [-1, "-1"],
    [Number.NaN, "NaN"],
    [Number.NEGATIVE_INFINITY, "-Infinity"],
    ["100", '"100"'],
    [null, "null"],
  ])("%s: ERR_INVALID_ARGUMENT, thrown before anything starts", (value, shown) => {
    const work = vi.fn(never);
    const call = () => withDeadline("op", { timeoutMs: value as number }, {}, work);
    expect(call).toThrow(InvalidArgumentError);
    try {
      call();
    } catch (error) {
      expect(error).toMatchObject({
        code: "ERR_INVALID_ARGUMENT",
        field: "timeoutMs",
        received: shown,
      });
      expect(error).toBeInstanceOf(TypeError);
    }
    expect(work).not.toHaveBeenCalled();
  });

  test("above 2³¹−1 ms: honoured in full, never clamped to 1 ms", async () => {
    vi.useFakeTimers();
    const timeoutMs = MAX_TIMER_MS + 1000;
    let settled: unknown;
    withDeadline("op", { timeoutMs }, {}, never).catch((error: unknown) => {
      settled = error;
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(990);
    expect(settled).toBeInstanceOf(TimeoutError);
  });

  test("a timeout and an abort are distinct errors; the signal's reason is the error", async () => {
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const result = withDeadline("op", { signal: controller.signal }, {}, (signal) => {
      inner = signal;
      return never();
    });
    const reason = new Error("user gave up");
    controller.abort(reason);
    const error = await result.catch((e: unknown) => e);
    expect(AbortError.isInstance(error)).toBe(true);
    expect(TimeoutError.isInstance(error)).toBe(false);
    expect(error).toMatchObject({ code: "ERR_ABORTED", operation: "op", cause: reason });
    expect(inner?.reason).toBe(error);
  });

  test("an already aborted signal starts nothing", async () => {
    const work = vi.fn(never);
    await expect(
      withDeadline("op", { signal: AbortSignal.abort() }, {}, work),
    ).rejects.toMatchObject({
      code: "ERR_ABORTED",
    });
    expect(work).not.toHaveBeenCalled();
  });

  test("the lifetime ends the call with its own reason", async () => {
    const lifetime = new AbortController();
    const closed = new Error("closed");
    const result = withDeadline("op", {}, { lifetime: lifetime.signal }, never);
    lifetime.abort(closed);
    await expect(result).rejects.toBe(closed);
  });

  test("a settled call leaves no timer behind, and a later abort does nothing", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    await withDeadline("op", { signal: controller.signal, timeoutMs: 1000 }, {}, async (signal) => {
      inner = signal;
      return 1;
    });
    expect(vi.getTimerCount()).toBe(0);
    controller.abort(new Error("late"));
    expect(inner?.aborted).toBe(false);
  });

  test("race hands a value that arrives after the stop to onLate", async () => {
    const deadline = new Deadline("op", { timeoutMs: 1 });
    let resolveLate!: (value: string) => void;
    const late = vi.fn();
    const raced = deadline.race(new Promise<string>((resolve) => (resolveLate = resolve)), late);
    await expect(raced).rejects.toBeInstanceOf(TimeoutError);
    resolveLate("connection");
    await Promise.resolve();
    await Promise.resolve();
    expect(late).toHaveBeenCalledWith("connection");
    deadline.dispose();
  });

  test("remainingMs counts down to 0", async () => {
    vi.useFakeTimers();
    using deadline = new Deadline("op", { timeoutMs: 100 });
    vi.advanceTimersByTime(40);
    expect(deadline.remainingMs()).toBeCloseTo(60, 0);
    vi.advanceTimersByTime(100);
    expect(deadline.remainingMs()).toBe(0);
    expect(() => deadline.throwIfStopped()).toThrow(TimeoutError);
  });
});

describe("armDeadline", () => {
  test("fails synchronously for an aborted signal or a 0 deadline", () => {
    const fail = vi.fn();
    armDeadline("a", AbortSignal.abort(), 100, fail);
    armDeadline("b", undefined, 0, fail);
    expect(fail.mock.calls.map(([error]) => (error as { code: string }).code)).toEqual([
      "ERR_ABORTED",
      "ERR_TIMEOUT",
    ]);
  });

  test("disarm removes the timer; a long deadline chains timers", async () => {
    vi.useFakeTimers();
    const fail = vi.fn();
    const disarm = armDeadline("op", undefined, MAX_TIMER_MS * 2, fail, "a hint");
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 5);
    expect(fail).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(fail).toHaveBeenCalledOnce();
    expect((fail.mock.calls[0]![0] as Error).message).toBe(
      `op timed out after ${MAX_TIMER_MS * 2} ms (a hint)`,
    );
    disarm();
    const other = vi.fn();
    armDeadline("op", undefined, 10, other)();
    await vi.advanceTimersByTimeAsync(20);
    expect(other).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("checkCallOptions", () => {
  test("accepts absent and well-formed options", () => {
    expect(checkCallOptions(undefined)).toEqual({});
    const options = { signal: new AbortController().signal, timeoutMs: 5 };
    expect(checkCallOptions(options)).toBe(options);
  });

  test("names the field at fault", () => {
    expect(() => checkCallOptions({ signal: "stop" as never })).toThrow(
      'options.signal must be an AbortSignal (got "stop")',
    );
    expect(() => checkCallOptions({ timeoutMs: -5 }, [], "call")).toThrow(
      "call.timeoutMs must be a number of milliseconds ≥ 0, or Infinity (got -5)",
    );
    expect(() => checkCallOptions(5 as never)).toThrow("options must be an object (got 5)");
  });

  test("refuses a key the call does not know, and accepts the call's own", () => {
    expect(() => checkCallOptions({ timeout: 5 } as never)).toThrow(
      "options.timeout is not an option; expected one of signal, timeoutMs (got 5)",
    );
    const options = { timeoutMs: 5, retries: 2 };
    expect(checkCallOptions(options, ["retries"])).toBe(options);
  });
});

describe("timers", () => {
  test("startTimer(Infinity) never fires and holds no timer", () => {
    vi.useFakeTimers();
    const fire = vi.fn();
    startTimer(Number.POSITIVE_INFINITY, fire)();
    expect(vi.getTimerCount()).toBe(0);
  });

  test("delay resolves after its time, rejects with the signal's reason", async () => {
    vi.useFakeTimers();
    const done = vi.fn();
    delay(30).then(done);
    await vi.advanceTimersByTimeAsync(29);
    expect(done).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toHaveBeenCalled();
    const controller = new AbortController();
    const waiting = delay(1000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(vi.getTimerCount()).toBe(0);
  });
});

test("many deadlines on one caller's signal add no listener to it (no MaxListenersExceededWarning)", async () => {
  const controller = new AbortController();
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on("warning", onWarning);
  try {
    const calls = Array.from({ length: 32 }, () =>
      withDeadline("op", { signal: controller.signal }, {}, () => new Promise<never>(() => {})),
    );
    controller.abort(new Error("all of them"));
    const errors = await Promise.all(calls.map((call) => call.catch((error: unknown) => error)));
    expect(errors.every((error) => AbortError.isInstance(error))).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", onWarning);
  }
  expect(warnings.filter((warning) => warning.name === "MaxListenersExceededWarning")).toEqual([]);
});
