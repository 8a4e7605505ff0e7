import {
  AbortError,
  ClosedError,
  InvalidArgumentError,
  QemuKvmError,
  TimeoutError,
} from "@qemu-kvm/core";
import { describe, expect, test } from "vitest";
import {
  HostAbortError,
  HostAuthError,
  HostClosedError,
  HostConnectError,
  HostConnectionLostError,
  HostExitError,
  HostFileTooLargeError,
  HostKeyMismatchError,
  HostMaxBufferError,
  HostSocketError,
  HostSpawnError,
  HostSystemError,
  HostTimeoutError,
  HostTooManyEntriesError,
} from "../../src/index.js";

describe("errors", () => {
  test("HostExitError: code, facts, and the stderr tail in the message", () => {
    const stderr = `${Array.from({ length: 50 }, (_, index) => `line ${index}`).join("\n")}\n`;
    const error = new HostExitError({
      argv: ["qemu-img", "create", "a b.img"],
      stdout: "",
      stderr,
      exitCode: 1,
      signal: null,
      durationMs: 5,
      host: "root@lab1:22",
    });
    expect(QemuKvmError.isInstance(error)).toBe(true);
    expect(HostExitError.isInstance(error)).toBe(true);
    expect(error.code).toBe("ERR_HOST_EXIT");
    expect(error.name).toBe("HostExitError");
    expect(error.host).toBe("root@lab1:22");
    expect(error.message).toMatch(
      /^qemu-img create "a b.img" exited with 1 on root@lab1:22:\n…\nline 30\n/,
    );
    expect(error.message).toMatch(/line 49$/);
    expect(error.stderrTail.split("\n")).toHaveLength(21);
  });

  test("the stderr tail keeps at most 20 lines and 2000 characters; empty stderr adds nothing", () => {
    const facts = { argv: ["x"], stdout: "", exitCode: 1, signal: null, durationMs: 0 };
    expect(new HostExitError({ ...facts, stderr: "a\nb\n\n", host: "local" }).stderrTail).toBe(
      "a\nb",
    );
    const long = new HostExitError({ ...facts, stderr: "x".repeat(5000), host: "local" });
    expect(long.stderrTail).toHaveLength(2001);
    const silent = new HostExitError({ ...facts, stderr: "", host: "local" });
    expect(silent.stderrTail).toBe("");
    expect(silent.message).toBe("x exited with 1");
  });

  test("every error carries a code, its cause and the host", () => {
    const cause = new Error("under");
    expect(
      new HostSpawnError({
        argv: ["x"],
        reason: "not-found",
        detail: "x not found",
        host: "local",
        cause,
      }),
    ).toMatchObject({ code: "ERR_HOST_SPAWN", reason: "not-found", cause, host: "local" });
    expect(
      new HostTimeoutError({ operation: "exec sleep 9", timeoutMs: 100, host: "local" }).message,
    ).toBe("exec sleep 9 timed out after 100 ms");
    expect(
      new HostTimeoutError({ operation: "exec sleep 9", timeoutMs: 100, host: "root@lab1:22" })
        .message,
    ).toBe("exec sleep 9 timed out after 100 ms on root@lab1:22");
  });

  test("timeouts, aborts and closes are core's shared errors, recognised by isInstance", () => {
    const timeout = new HostTimeoutError({
      operation: "exec sleep 9",
      timeoutMs: 100,
      host: "local",
      facts: { argv: ["sleep", "9"], stdout: "so far", stderr: "", durationMs: 100 },
    });
    expect(timeout).toMatchObject({ code: "ERR_TIMEOUT", argv: ["sleep", "9"], stdout: "so far" });
    expect(TimeoutError.isInstance(timeout)).toBe(true);
    expect(timeout).toBeInstanceOf(TimeoutError);
    const reason = new Error("stop");
    const abort = new HostAbortError({ operation: "exists /", cause: reason, host: "local" });
    expect(abort).toMatchObject({ code: "ERR_ABORTED", cause: reason });
    expect(AbortError.isInstance(abort)).toBe(true);
    const closed = new HostClosedError({ host: "root@lab1:22", cause: reason });
    expect(closed).toMatchObject({ code: "ERR_HOST_CLOSED", host: "root@lab1:22", cause: reason });
    expect(ClosedError.isInstance(closed)).toBe(true);
    expect(closed.message).toBe("host root@lab1:22 closed: stop");
  });

  test("each class has a literal name, a code of its own and an isInstance that tells them apart", () => {
    const host = "root@lab1:22";
    const errors = [
      new HostExitError({
        argv: ["x"],
        stdout: "",
        stderr: "",
        exitCode: 1,
        signal: null,
        durationMs: 0,
        host,
      }),
      new HostSpawnError({ argv: ["x"], reason: "system", detail: "no", host }),
      new HostMaxBufferError({ argv: ["x"], stream: "stdout", maxBuffer: 1, host }),
      new HostConnectError({ message: "no", host }),
      new HostConnectionLostError({ message: "gone", host }),
      new HostAuthError({ user: "root", message: "no", host }),
      new HostKeyMismatchError({
        problem: "unknown",
        fingerprint: "SHA256:x",
        message: "no",
        host,
      }),
      new HostClosedError({ host }),
      new HostSystemError({ operation: "kill", systemCode: "EPERM", message: "no", host }),
      new HostSocketError({ target: "/x.sock", systemCode: "ENOENT", message: "no", host }),
      new HostTooManyEntriesError({ path: "/d", maxEntries: 1, host }),
      new HostFileTooLargeError({ path: "/f", maxBytes: 1, host }),
    ];
    const codes = new Set(errors.map((error) => error.code));
    expect(codes.size).toBe(errors.length);
    for (const error of errors) {
      expect(error.name).toBe(error.constructor.name);
      expect(error.code).toBe(
        `ERR_${error.name
          .replace(/Error$/, "")
          .replace(/([a-z])([A-Z])/g, "$1_$2")
          .toUpperCase()}`,
      );
      expect(error.host).toBe(host);
      expect(QemuKvmError.isInstance(error)).toBe(true);
      expect(InvalidArgumentError.isInstance(error)).toBe(false);
    }
    expect(HostConnectError.isInstance(errors[4])).toBe(false);
    expect(HostConnectionLostError.isInstance(errors[4])).toBe(true);
  });
});
