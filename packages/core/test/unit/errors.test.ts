import { describe, expect, test, vi } from "vitest";
import type * as core from "../../src/index.js";
import {
  AbortError,
  ClosedError,
  InvalidArgumentError,
  QemuKvmError,
  TimeoutError,
} from "../../src/index.js";

class DemoClosedError extends ClosedError {
  static override readonly errorId = "DemoClosedError";
  override name = "DemoClosedError";
  readonly code = "ERR_DEMO_CLOSED" as const;
}

/** A second copy of the package, as a duplicated dependency would load it. */
async function secondCopy(): Promise<typeof core> {
  vi.resetModules();
  const copy = (await import("../../src/index.js")) as typeof core;
  expect(copy.TimeoutError).not.toBe(TimeoutError);
  return copy;
}

describe("QemuKvmError.isInstance", () => {
  test("recognises errors made by another copy of the package, by class", async () => {
    const copy = await secondCopy();
    const timeout = new copy.TimeoutError({ operation: "op", timeoutMs: 5 });
    expect(timeout).not.toBeInstanceOf(TimeoutError);
    expect(TimeoutError.isInstance(timeout)).toBe(true);
    expect(QemuKvmError.isInstance(timeout)).toBe(true);
    expect(AbortError.isInstance(timeout)).toBe(false);
    const invalid = new copy.InvalidArgumentError("x", "a number", "y");
    expect(InvalidArgumentError.isInstance(invalid)).toBe(true);
    expect(QemuKvmError.isInstance(invalid)).toBe(true);
    expect(TimeoutError.isInstance(invalid)).toBe(false);
  });

  test("a subclass is an instance of its parents, not of its siblings", () => {
    const closed = new DemoClosedError({ resource: "demo connection", operation: "ping" });
    expect(ClosedError.isInstance(closed)).toBe(true);
    expect(DemoClosedError.isInstance(closed)).toBe(true);
    expect(QemuKvmError.isInstance(closed)).toBe(true);
    expect(TimeoutError.isInstance(closed)).toBe(false);
    expect(DemoClosedError.isInstance(new TimeoutError({ operation: "x", timeoutMs: 1 }))).toBe(
      false,
    );
  });

  test("plain errors and look-alikes are not members", () => {
    for (const value of [new Error("x"), { code: "ERR_TIMEOUT" }, null, undefined, "ERR_TIMEOUT"])
      expect(QemuKvmError.isInstance(value)).toBe(false);
    const forged = Object.assign(new Error("x"), { name: "TimeoutError", code: "ERR_TIMEOUT" });
    expect(TimeoutError.isInstance(forged)).toBe(false);
  });
});

describe("the shared errors", () => {
  test("have a literal name, a code, and say what happened", () => {
    const timeout = new TimeoutError({
      operation: "QMP query-status",
      timeoutMs: 50,
      hint: "busy",
    });
    expect([timeout.name, timeout.code, timeout.message]).toEqual([
      "TimeoutError",
      "ERR_TIMEOUT",
      "QMP query-status timed out after 50 ms (busy)",
    ]);
    const cause = new Error("user");
    const abort = new AbortError({ operation: "exec", cause });
    expect([abort.name, abort.code, abort.message, abort.cause]).toEqual([
      "AbortError",
      "ERR_ABORTED",
      "exec was aborted",
      cause,
    ]);
    const closed = new DemoClosedError({
      resource: "demo connection",
      operation: "ping",
      cause: new Error("ECONNRESET"),
    });
    expect(closed.message).toBe("demo connection closed before ping completed: ECONNRESET");
    expect(closed.code).toBe("ERR_DEMO_CLOSED");
  });

  test("InvalidArgumentError is a TypeError naming the field, what was expected and what came", () => {
    const error = new InvalidArgumentError("ports.serial", "a port number", {
      port: 7000,
      kind: "serial",
    });
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("ports.serial must be a port number (got an object { port, kind })");
    expect(error).toMatchObject({
      name: "InvalidArgumentError",
      code: "ERR_INVALID_ARGUMENT",
      field: "ports.serial",
      expected: "a port number",
      received: "an object { port, kind }",
    });
    const problem = new InvalidArgumentError("cpus", "distinct CPUs", "1,1", {
      problem: "names CPU 1 twice",
    });
    expect(problem.message).toBe('cpus names CPU 1 twice (got "1,1")');
  });

  test("names survive minification: they never come from constructor.name", () => {
    const Renamed = { a: class extends TimeoutError {} }.a;
    expect(new Renamed({ operation: "x", timeoutMs: 1 }).name).toBe("TimeoutError");
  });
});
