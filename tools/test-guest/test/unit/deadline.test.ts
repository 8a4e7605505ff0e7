import { describe, expect, test } from "vitest";
import { withDeadline } from "../../src/deadline.js";
import { GuestAbortError, GuestTimeoutError } from "../../src/errors.js";

describe("withDeadline", () => {
  test("resolves with the task's value and cleans up its signal", async () => {
    let inner: AbortSignal | undefined;
    const value = await withDeadline("task", {}, 1_000, async (signal) => {
      inner = signal;
      return 42;
    });
    expect(value).toBe(42);
    expect(inner?.aborted).toBe(true); // told that it is over
  });

  test("a task that ignores its signal still ends at the deadline, with ERR_TIMEOUT", async () => {
    const error = await withDeadline(
      "slow",
      { timeoutMs: 50 },
      1_000,
      () => new Promise(() => {}),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestTimeoutError);
    expect(error).toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 50 });
  });

  test("the caller's abort gives ERR_ABORTED with the reason as cause", async () => {
    const controller = new AbortController();
    const reason = new Error("user");
    const running = withDeadline(
      "task",
      { signal: controller.signal },
      10_000,
      () => new Promise(() => {}),
    );
    controller.abort(reason);
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestAbortError);
    expect((error as Error).cause).toBe(reason);
    await expect(
      withDeadline("late", { signal: controller.signal }, 10_000, async () => 1),
    ).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });
});
