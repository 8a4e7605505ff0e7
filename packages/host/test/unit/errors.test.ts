import { describe, expect, test } from "vitest";
import { tail } from "../../src/errors.js";
import { HostError, HostExitError, HostSpawnError, HostTimeoutError } from "../../src/index.js";

describe("errors", () => {
  test("HostExitError: code, facts, and the stderr tail in the message", () => {
    const stderr = `${Array.from({ length: 50 }, (_, index) => `line ${index}`).join("\n")}\n`;
    const error = new HostExitError(
      {
        argv: ["qemu-img", "create", "a b.img"],
        stdout: "",
        stderr,
        exitCode: 1,
        signal: null,
        durationMs: 5,
      },
      { host: "root@lab1:22" },
    );
    expect(error).toBeInstanceOf(HostError);
    expect(error.code).toBe("ERR_HOST_EXIT");
    expect(error.name).toBe("HostExitError");
    expect(error.message).toMatch(
      /^qemu-img create "a b.img" exited with 1 on root@lab1:22:\n…\nline 30\n/,
    );
    expect(error.message).toMatch(/line 49$/);
    expect(error.stderrTail.split("\n")).toHaveLength(21);
  });

  test("tail keeps at most 20 lines and 2000 characters", () => {
    expect(tail("a\nb\n\n")).toBe("a\nb");
    expect(tail("x".repeat(5000))).toHaveLength(2001);
  });

  test("every error carries a code and its cause", () => {
    const cause = new Error("under");
    expect(new HostSpawnError(["x"], "not-found", "x not found", { cause })).toMatchObject({
      code: "ERR_HOST_SPAWN",
      reason: "not-found",
      cause,
    });
    expect(new HostTimeoutError("exec sleep 9", 100, { host: "local" }).message).toBe(
      "exec sleep 9 timed out after 100 ms",
    );
  });
});
