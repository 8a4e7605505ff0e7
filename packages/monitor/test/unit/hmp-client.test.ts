import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { type OperationMessage, stripTerminalEscapes } from "@qemu-kvm/core";
import { describe, expect, test } from "vitest";
import {
  type ConnectHmpOptions,
  connectHmp,
  HmpClosedError,
  HmpProtocolError,
  InvalidArgumentError,
  LineTooLongError,
} from "../../src/index.js";
import { BANNER, connectFake as connect, echo, FakeHmp } from "../helpers/fake-hmp-peer.js";

const OUTPUTS: Record<string, string> = {
  "info status": "VM status: paused (prelaunch)\n",
  "info cpus": "* CPU #0: thread_id=8431\n  CPU #1: thread_id=8432\n",
  "info name": "",
  "info nosuch": "unknown command: 'info nosuch'\n",
  "echo-unicode": "café ☕\n",
};

describe("HMP client", () => {
  test("reads the banner and version, strips the echo and escapes from output", async () => {
    const peer = new FakeHmp((line) => OUTPUTS[line] ?? "");
    const hmp = await connect(peer);
    expect(hmp.banner).toBe("QEMU 7.2.22 monitor - type 'help' for more information");
    expect(hmp.version).toEqual({ major: 7, minor: 2, micro: 22 });
    expect(await hmp.command("info status")).toBe("VM status: paused (prelaunch)\n");
    expect(await hmp.command("info cpus")).toBe(OUTPUTS["info cpus"]);
    expect(await hmp.command("info name")).toBe("");
    expect(await hmp.command("info nosuch")).toBe("unknown command: 'info nosuch'\n");
    // 1-byte chunks split the UTF-8 characters too.
    const bytewise = new FakeHmp((line) => OUTPUTS[line] ?? "", 1);
    const second = await connect(bytewise);
    expect(await second.command("echo-unicode")).toBe("café ☕\n");
    await hmp.close();
    await second.close();
  });

  test("runs commands one at a time, in call order", async () => {
    const peer = new FakeHmp((line) => `${line} done\n`);
    const hmp = await connect(peer);
    peer.hold = true;
    const results = ["info a", "info b", "info c"].map((line) => hmp.command(line));
    await new Promise((resolve) => setImmediate(resolve));
    // Only the first was sent: the others wait for its prompt.
    expect(peer.received).toEqual(["info a"]);
    peer.release();
    await results[0];
    peer.release();
    await results[1];
    peer.release();
    expect(await Promise.all(results)).toEqual(["info a done\n", "info b done\n", "info c done\n"]);
    expect(peer.received).toEqual(["info a", "info b", "info c"]);
    await hmp.close();
  });

  test("skips the late output of a command that timed out", async () => {
    const peer = new FakeHmp((line) => `${line} output\n`);
    const hmp = await connect(peer);
    peer.hold = true;
    const slow = hmp.command("info slow", { timeoutMs: 10 });
    const next = hmp.command("info next");
    await expect(slow).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
    // "info next" waits for the prompt of "info slow".
    expect(peer.received).toEqual(["info slow"]);
    peer.release();
    await new Promise((resolve) => setImmediate(resolve));
    peer.release();
    await expect(next).resolves.toBe("info next output\n");
    await hmp.close();
  });

  test("refuses control characters, which would drive readline", async () => {
    const hmp = await connect(new FakeHmp(() => ""));
    for (const line of ["info\tst", "info status\n", "\x1b[A", "", 42]) {
      expect(() => hmp.command(line as string)).toThrow(InvalidArgumentError);
      expect(() => hmp.command(line as string)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "commandLine" }),
      );
    }
    hmp.destroy();
  });

  test("rejects pending commands with ERR_HMP_CLOSED when the peer hangs up; quit resolves", async () => {
    const peer = new FakeHmp((line) => (line === "quit" ? undefined : `${line}\n`));
    const hmp = await connect(peer);
    peer.hold = true;
    const pending = hmp.command("info status");
    const quitting = hmp.quit();
    peer.release();
    await pending;
    await new Promise((resolve) => setImmediate(resolve));
    expect(peer.received).toEqual(["info status", "quit"]);
    peer.push(null);
    await expect(quitting).resolves.toBeUndefined();
    expect((await hmp.closed).by).toBe("peer");
    await expect(hmp.command("info status")).rejects.toBeInstanceOf(HmpClosedError);
  });

  test("says so when pointed at a QMP socket", async () => {
    const peer = new FakeHmp(() => "");
    const connecting = connectHmp(peer);
    peer.push('{"QMP": {"version": {}}}\r\n');
    await expect(connecting).rejects.toMatchObject({
      code: "ERR_HMP_PROTOCOL",
      message: expect.stringContaining("connectQmp"),
    });
  });

  test("says so when the peer sends 64 KiB without a prompt before the banner ends", async () => {
    const peer = new FakeHmp(() => "", 1024);
    const connecting = connectHmp(peer);
    peer.sendChunked("login: ".repeat(10_000));
    await expect(connecting).rejects.toMatchObject({
      code: "ERR_HMP_PROTOCOL",
      message: expect.stringContaining("not QEMU's human monitor"),
      received: expect.stringMatching(/^login: /),
    });
    expect(peer.destroyed).toBe(true);
  });

  test("core's stripTerminalEscapes removes readline's sequences", () => {
    expect(stripTerminalEscapes(echo("info status"))).toMatch(/info status\r\n$/);
    expect(stripTerminalEscapes("a\x1b[Kb\x1b[D\x1b[1;31mc\x1b7")).toBe("abc");
  });

  test("rejects with ERR_HMP_CLOSED, the reset as cause, when the peer resets the connection", async () => {
    const peer = new FakeHmp(() => "");
    const hmp = await connect(peer);
    peer.hold = true;
    const pending = hmp.command("info status");
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    peer.destroy(reset);
    await expect(pending).rejects.toMatchObject({ code: "ERR_HMP_CLOSED", cause: reset });
    expect(await hmp.closed).toEqual({ by: "peer", error: reset });
  });

  test("close() lets queued commands finish, then closes; await using closes", async () => {
    const peer = new FakeHmp((line) => `${line} done\n`);
    const hmp = await connect(peer);
    peer.hold = true;
    const first = hmp.command("info a");
    const closing = hmp.close();
    await expect(hmp.command("info b")).rejects.toMatchObject({ code: "ERR_HMP_CLOSED" });
    peer.release();
    await expect(first).resolves.toBe("info a done\n");
    await closing;
    expect(await hmp.closed).toEqual({ by: "client" });
    expect(peer.destroyed).toBe(true);
    const other = new FakeHmp(() => "");
    {
      await using _client = await connect(other);
    }
    expect(other.destroyed).toBe(true);
  });
});

describe("the deadline rule", () => {
  test("command: 0 expires at once and sends nothing; Infinity waits; negative or NaN is refused", async () => {
    const peer = new FakeHmp((line) => `${line} output\n`);
    const hmp = await connect(peer, { commandTimeoutMs: 10 });
    await expect(hmp.command("info status", { timeoutMs: 0 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      timeoutMs: 0,
    });
    expect(peer.received).toEqual([]);
    for (const timeoutMs of [-1, Number.NaN])
      expect(() => hmp.command("info status", { timeoutMs })).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "options.timeoutMs" }),
      );
    expect(peer.received).toEqual([]);
    // Infinity overrides the 10 ms default: the answer held back past it still arrives.
    peer.hold = true;
    const unbounded = hmp.command("info slow", { timeoutMs: Infinity });
    const bounded = hmp.command("info other");
    await expect(bounded).rejects.toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 10 });
    peer.release();
    await expect(unbounded).resolves.toBe("info slow output\n");
    await expect(hmp.quit({ timeoutMs: 0 })).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
    expect(() => hmp.quit({ timeoutMs: -1 })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT" }),
    );
    expect(peer.received).toEqual(["info slow"]);
    hmp.destroy();
  });

  test("connect: 0 is ERR_TIMEOUT and destroys the stream; invalid options throw and leave it", async () => {
    const expired = new FakeHmp(() => "");
    await expect(connectHmp(expired, { timeoutMs: 0 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      operation: "HMP connect",
    });
    expect(expired.destroyed).toBe(true);
    const peer = new FakeHmp(() => "");
    const invalid: [ConnectHmpOptions, string][] = [
      [{ timeoutMs: -1 }, "options.timeoutMs"],
      [{ timeoutMs: Number.NaN }, "options.timeoutMs"],
      [{ commandTimeoutMs: -1 }, "options.commandTimeoutMs"],
      [{ maxLineBytes: 0 }, "options.maxLineBytes"],
      [{ maxOutputBytes: 1.5 }, "options.maxOutputBytes"],
      [{ timeout: 5 } as ConnectHmpOptions, "options.timeout"],
    ];
    for (const [options, field] of invalid)
      expect(() => connectHmp(peer, options)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field }),
      );
    expect(peer.destroyed).toBe(false);
    const connecting = connectHmp(peer, { timeoutMs: Infinity });
    peer.sendChunked(BANNER);
    (await connecting).destroy();
  });
});

describe("bounded buffers", () => {
  test("a line longer than maxLineBytes: ERR_HMP_PROTOCOL (cause LineTooLongError), pending commands closed", async () => {
    // Short command lines: QEMU's echo of a line of n characters is O(n²) bytes long.
    const peer = new FakeHmp(() => `${"y".repeat(65)}\n`, 4096);
    const hmp = await connect(peer, { maxLineBytes: 64 });
    const pending = hmp.command("i");
    const error = await pending.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_HMP_CLOSED" });
    const protocol = (error as Error).cause;
    expect(protocol).toBeInstanceOf(HmpProtocolError);
    expect(protocol).toMatchObject({ code: "ERR_HMP_PROTOCOL" });
    expect((protocol as Error).cause).toBeInstanceOf(LineTooLongError);
    expect((protocol as Error).cause).toMatchObject({ maxLineBytes: 64, start: "y".repeat(65) });
    expect((await hmp.closed).error).toBe(protocol);
  });

  test("a line of exactly maxLineBytes passes", async () => {
    const peer = new FakeHmp(() => `${"y".repeat(64)}\n`, 4096);
    const hmp = await connect(peer, { maxLineBytes: 64 });
    expect(await hmp.command("i")).toBe(`${"y".repeat(64)}\n`);
    hmp.destroy();
  });

  test("a peer that sends 64 MiB without a newline: cut off at the 16 MiB default", async () => {
    const peer = new FakeHmp(() => undefined, 64 * 1024);
    const hmp = await connect(peer);
    const pending = hmp.command("info endless").catch((e: unknown) => e);
    const chunk = Buffer.alloc(64 * 1024, "z");
    let sent = 0;
    while (sent < 64 * 1024 * 1024 && !peer.destroyed) {
      peer.push(chunk);
      sent += chunk.length;
      if (sent % (1024 * 1024) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(peer.destroyed).toBe(true);
    expect(sent).toBeGreaterThan(16 * 1024 * 1024);
    expect(sent).toBeLessThanOrEqual(17 * 1024 * 1024);
    expect(await pending).toMatchObject({
      code: "ERR_HMP_CLOSED",
      cause: { code: "ERR_HMP_PROTOCOL", cause: { code: "ERR_LINE_TOO_LONG" } },
    });
  });

  test("short lines without a prompt past maxOutputBytes: ERR_HMP_PROTOCOL", async () => {
    const peer = new FakeHmp(() => undefined, 64 * 1024);
    const hmp = await connect(peer, { maxOutputBytes: 1024 * 1024 });
    const pending = hmp.command("info endless").catch((e: unknown) => e);
    const chunk = Buffer.from("short line\r\n".repeat(5000));
    let sent = 0;
    while (sent < 8 * 1024 * 1024 && !peer.destroyed) {
      peer.push(chunk);
      sent += chunk.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(peer.destroyed).toBe(true);
    expect(sent).toBeLessThanOrEqual(1024 * 1024 + chunk.length);
    const error = await pending;
    expect((error as Error).cause).toMatchObject({
      code: "ERR_HMP_PROTOCOL",
      message: expect.stringContaining("maxOutputBytes"),
    });
  });
});

describe("diagnostics", () => {
  test("qemu-kvm:monitor sees the HMP connect and each command", async () => {
    const messages: OperationMessage[] = [];
    const listener = (message: unknown) => messages.push(message as OperationMessage);
    subscribe("qemu-kvm:monitor", listener);
    try {
      const hmp = await connect(new FakeHmp(() => "ok\n"));
      await hmp.command("info status");
      hmp.destroy();
    } finally {
      unsubscribe("qemu-kvm:monitor", listener);
    }
    expect(messages.map((m) => [m.operation, m.target, m.phase])).toEqual([
      ["connect", "hmp", "start"],
      ["connect", "hmp", "end"],
      ["hmp", "info", "start"],
      ["hmp", "info", "end"],
    ]);
  });
});
