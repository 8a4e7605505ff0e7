/**
 * The deadline rule and the option checks, through the public API of the
 * local host (the SSH host shares them; the conformance suite runs both).
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test as base } from "@qemu-kvm/testkit/fixtures";
import { describe, expect } from "vitest";
import {
  createLocalHost,
  type Host,
  type OperationMessage,
  TimeoutError,
} from "../../src/index.js";

const test = base
  .extend("host", { scope: "file" }, async ({}, { onCleanup }): Promise<Host> => {
    const host = createLocalHost();
    onCleanup(() => host.close());
    return host;
  })
  .extend("dir", async ({ tempDir }) => tempDir.path);

const invalid = (field: string) => expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field });

describe("the deadline rule", () => {
  test("timeoutMs: 0 has already expired: ERR_TIMEOUT at once, and nothing runs", async ({
    host,
    dir,
  }) => {
    const marker = join(dir, "zero");
    const error = await host.exec("touch", [marker], { timeoutMs: 0 }).catch((caught) => caught);
    expect(error).toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 0, host: "local" });
    expect(TimeoutError.isInstance(error)).toBe(true);
    await expect(host.spawn("touch", [marker], { timeoutMs: 0 }).pid).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
    });
    await expect(host.writeFile(marker, "x", { timeoutMs: 0 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
    });
    await expect(host.exists(marker, { timeoutMs: 0 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      operation: `exists ${marker}`,
    });
    expect(existsSync(marker)).toBe(false);
  });

  test("timeoutMs: Infinity is no deadline; above 2^31-1 ms is honoured in full", async ({
    host,
    dir,
  }) => {
    expect((await host.exec("true", [], { timeoutMs: Infinity })).exitCode).toBe(0);
    // Node clamps a longer timer to 1 ms: the command would be stopped at once.
    expect((await host.exec("sleep", ["0.05"], { timeoutMs: 2 ** 31 + 10 })).exitCode).toBe(0);
    expect(await host.exists(dir, { timeoutMs: Infinity })).toBe(true);
  });

  test("a negative or NaN timeoutMs throws ERR_INVALID_ARGUMENT synchronously", ({ host }) => {
    expect(() => host.exec("true", [], { timeoutMs: -1 })).toThrow(invalid("options.timeoutMs"));
    expect(() => host.exec("true", [], { timeoutMs: Number.NaN })).toThrow(
      invalid("options.timeoutMs"),
    );
    expect(() => host.spawn("true", [], { timeoutMs: -1 })).toThrow(invalid("options.timeoutMs"));
    expect(() => host.readFile("/etc/hostname", { timeoutMs: -5 })).toThrow(
      invalid("options.timeoutMs"),
    );
    expect(() => host.connectTcp("127.0.0.1", 1, { timeoutMs: -1 })).toThrow(
      invalid("options.timeoutMs"),
    );
    expect(() => host.exec("true", [], { forceKillAfterMs: -1 })).toThrow(
      invalid("forceKillAfterMs"),
    );
  });

  test("an aborted signal starts nothing: ERR_ABORTED with the reason", async ({ host, dir }) => {
    const marker = join(dir, "aborted");
    const reason = new Error("no");
    const signal = AbortSignal.abort(reason);
    await expect(host.exec("touch", [marker], { signal })).rejects.toMatchObject({
      code: "ERR_ABORTED",
      cause: reason,
    });
    await expect(host.spawn("touch", [marker], { signal }).exited).rejects.toMatchObject({
      code: "ERR_ABORTED",
      cause: reason,
    });
    expect(existsSync(marker)).toBe(false);
  });
});

describe("options are checked alike", () => {
  test("an unknown option key is ERR_INVALID_ARGUMENT naming it, in every call", ({ host }) => {
    const wrong = { sock: 1 } as never;
    expect(() => host.exec("true", [], wrong)).toThrow(invalid("options.sock"));
    expect(() => host.spawn("true", [], wrong)).toThrow(invalid("options.sock"));
    expect(() => host.readFile("/x", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.writeFile("/x", "", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.remove("/x", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.makePrivateDir(wrong)).toThrow(invalid("options.sock"));
    expect(() => host.exists("/x", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.connectUnix("/x", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.connectTcp("127.0.0.1", 1, wrong)).toThrow(invalid("options.sock"));
    expect(() => host.processInfo(1, wrong)).toThrow(invalid("options.sock"));
    expect(() => host.isAlive(1, wrong)).toThrow(invalid("options.sock"));
    expect(() => host.kill(1, "SIGTERM", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.makeDir("/x", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.readDir("/x", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.stat("/x", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.rename("/x", "/y", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.putFile("/x", "/y", wrong)).toThrow(invalid("options.sock"));
    expect(() => host.waitForExit(1, wrong)).toThrow(invalid("options.sock"));
    expect(() => host.architecture(wrong)).toThrow(invalid("options.sock"));
  });

  test("option values of the wrong type are refused, naming the option", ({ host }) => {
    expect(() => host.exec("true", [], { encoding: "latin1" as "utf8" })).toThrow(
      invalid("encoding"),
    );
    expect(() => host.exec("true", [], { maxBuffer: Infinity })).toThrow(invalid("maxBuffer"));
    expect(() => host.exec("true", [], { input: 5 as unknown as string })).toThrow(
      invalid("input"),
    );
    expect(() => host.exec("true", [], { signal: "x" as unknown as AbortSignal })).toThrow(
      invalid("options.signal"),
    );
    expect(() => host.writeFile("/x", "", { mode: 0o10000 })).toThrow(invalid("mode"));
    expect(() => host.isAlive(1, { startTime: 5 as unknown as bigint })).toThrow(
      invalid("startTime"),
    );
    expect(() => host.connectTcp("", 22)).toThrow(invalid("host"));
    expect(() => host.connectTcp("127.0.0.1", 0)).toThrow(invalid("port"));
    expect(() => host.kill(1, 99)).toThrow(invalid("signal"));
    expect(() => host.makeDir("/x", { parents: "yes" as unknown as boolean })).toThrow(
      invalid("parents"),
    );
    expect(() => host.readDir("/x", { maxEntries: 1.5 })).toThrow(invalid("maxEntries"));
    expect(() => host.stat("")).toThrow(invalid("path"));
    expect(() => host.rename("", "/y")).toThrow(invalid("from"));
    expect(() => host.putFile("/x", "/y/..")).toThrow(invalid("remotePath"));
    expect(() => host.putFile("/x", "/y", { mode: -1 })).toThrow(invalid("mode"));
    expect(() => host.waitForExit(-1)).toThrow(invalid("pid"));
  });
});

describe("diagnostics", () => {
  test("a subscriber to qemu-kvm:host sees each operation start and end", async ({ host, dir }) => {
    const messages: OperationMessage[] = [];
    const listener = (message: unknown) => messages.push(message as OperationMessage);
    subscribe("qemu-kvm:host", listener);
    try {
      await host.exec("true");
      await host.exists(dir);
      await host.exists(dir, { timeoutMs: 0 }).catch(() => {});
    } finally {
      unsubscribe("qemu-kvm:host", listener);
    }
    const seen = messages.map(({ operation, phase, target }) => ({ operation, phase, target }));
    expect(seen).toEqual([
      { operation: "exec", phase: "start", target: "local true" },
      { operation: "exec", phase: "end", target: "local true" },
      { operation: "exists", phase: "start", target: `local ${dir}` },
      { operation: "exists", phase: "end", target: `local ${dir}` },
      { operation: "exists", phase: "start", target: `local ${dir}` },
      { operation: "exists", phase: "error", target: `local ${dir}` },
    ]);
    expect(messages[1]).toMatchObject({ source: "host", id: messages[0]!.id });
    expect(messages[1]!.durationMs).toBeGreaterThan(0);
    expect(messages[5]!.error).toMatchObject({ code: "ERR_TIMEOUT" });
  });
});
