import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { OperationMessage } from "@qemu-kvm/core";
import { describe, expect, onTestFinished } from "vitest";
import {
  AbortError,
  ClosedError,
  ConsoleClosedError,
  ConsoleTimeoutError,
  ControlCommandError,
  createSerialConsole,
  InvalidArgumentError,
  QemuKvmError,
  TimeoutError,
} from "../../src/index.js";
import { test } from "../helpers/console-setup.js";
import { FakeShell } from "../helpers/fake-shell.js";
import { rejection } from "../helpers/rejection.js";

const invalid = (field: string) => expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field });

describe("serial console: the deadline rule", () => {
  test("timeoutMs 0 has already expired: ERR_TIMEOUT, and nothing is sent", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({ greet: true });
    expect((await rejection(console.login({ timeoutMs: 0 }))).code).toBe("ERR_TIMEOUT");
    expect((await rejection(console.expect("login: ", { timeoutMs: 0 }))).code).toBe("ERR_TIMEOUT");
    expect((await rejection(console.write("root\n", { timeoutMs: 0 }))).code).toBe("ERR_TIMEOUT");
    expect(peer.allWritten).toBe("");
    const shell = await consoles.loggedIn(() => ({ exitCode: 0 }));
    const before = shell.peer.allWritten.length;
    expect((await rejection(shell.console.run("true", { timeoutMs: 0 }))).code).toBe("ERR_TIMEOUT");
    expect(shell.peer.allWritten.length).toBe(before);
    expect(shell.peer.commandsRun).not.toContain("true");
  });

  test("timeoutMs Infinity waits without a deadline", async ({ consoles }) => {
    const { peer, console } = await consoles.loggedIn(() => ({ exitCode: 0, output: "ok\n" }));
    expect(await console.run("true", { timeoutMs: Number.POSITIVE_INFINITY })).toMatchObject({
      exitCode: 0,
      output: "ok\n",
    });
    const waiting = console.expect("later", { timeoutMs: Number.POSITIVE_INFINITY });
    peer.send("later");
    expect((await waiting).match).toBe("later");
  });

  test("a negative, NaN or non-number timeoutMs throws ERR_INVALID_ARGUMENT before anything starts", ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    for (const timeoutMs of [-1, Number.NaN, "10" as unknown as number]) {
      expect(() => console.login({ timeoutMs })).toThrow(invalid("options.timeoutMs"));
      expect(() => console.run("true", { timeoutMs })).toThrow(invalid("options.timeoutMs"));
      expect(() => console.expect("x", { timeoutMs })).toThrow(invalid("options.timeoutMs"));
      expect(() => console.waitForNetwork({ timeoutMs })).toThrow(invalid("options.timeoutMs"));
    }
    expect(() => createSerialConsole(new FakeShell(), { commandTimeoutMs: -5 })).toThrow(
      invalid("options.commandTimeoutMs"),
    );
    expect(peer.allWritten).toBe("");
  });
});

describe("serial console: options are checked alike", () => {
  test("an unknown option key is refused, naming it", ({ consoles }) => {
    const misspelt = { telent: true } as unknown as Parameters<typeof createSerialConsole>[1];
    expect(() => createSerialConsole(new FakeShell(), misspelt)).toThrow(invalid("options.telent"));
    const { console } = consoles.setUp();
    const extra = { timeoutMs: 5, retries: 2 } as unknown as { timeoutMs: number };
    expect(() => console.run("true", extra)).toThrow(invalid("options.retries"));
    expect(() => console.login(extra)).toThrow(invalid("options.retries"));
    expect(() => console.expect([])).toThrow(invalid("pattern"));
    expect(() => console.expect("")).toThrow(invalid("pattern"));
  });

  test("bad option values are refused with their field", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ bufferSize: 10 }, "options.bufferSize"],
      [{ loginPrompt: "login:" }, "options.loginPrompt"],
      [{ user: "root; reboot" }, "options.user"],
      [{ nudgeIntervalMs: 0 }, "options.nudgeIntervalMs"],
      [{ guestIdentity: { command: "true" } }, "options.guestIdentity"],
      [
        {
          guestIdentity: {
            description: "d",
            command: "true",
            file: "/etc/x; reboot",
            accepts: () => true,
          },
        },
        "options.guestIdentity.file",
      ],
      [{ telnet: "yes" }, "options.telnet"],
    ];
    for (const [options, field] of cases)
      expect(() => createSerialConsole(new FakeShell(), options)).toThrow(invalid(field));
  });
});

describe("serial console: errors", () => {
  test("every error is of the family; timeouts are TimeoutErrors that carry the transcript", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    peer.push("boot noise");
    const timedOut = await rejection(console.expect("never", { timeoutMs: 20 }));
    expect(TimeoutError.isInstance(timedOut)).toBe(true);
    expect(ConsoleTimeoutError.isInstance(timedOut)).toBe(true);
    expect(timedOut).toMatchObject({
      name: "ConsoleTimeoutError",
      code: "ERR_TIMEOUT",
      timeoutMs: 20,
    });
    expect(timedOut.transcript).toContain("boot noise");
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    const aborted = await rejection(console.expect("never", { signal: controller.signal }));
    expect(AbortError.isInstance(aborted)).toBe(true);
    expect(() => console.run("a\0b")).toThrow(InvalidArgumentError);
    peer.hangUp();
    const closed = await rejection(console.expect("never"));
    expect(ClosedError.isInstance(closed)).toBe(true);
    expect(closed).toBeInstanceOf(ConsoleClosedError);
    expect(closed).toMatchObject({ name: "ConsoleClosedError", code: "ERR_CONSOLE_CLOSED" });
    expect(closed.transcript).toContain("closed by peer");
  });

  test("a helper whose command fails rejects with ERR_CONTROL_COMMAND and the transcript", async ({
    consoles,
  }) => {
    const { console } = await consoles.loggedIn(() => ({
      exitCode: 1,
      output: "ip: not found\n",
    }));
    const error = await rejection(console.networkInterfaces());
    expect(error).toBeInstanceOf(ControlCommandError);
    expect(QemuKvmError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: "ERR_CONTROL_COMMAND",
      command: "ip -o link show && ip -o addr show",
      exitCode: 1,
      output: "ip: not found",
    });
    expect(error.transcript).toContain("ip -o link show");
  });

  test("run() reports no signal: a shell's 128 + N cannot tell", async ({ consoles }) => {
    const { console } = await consoles.loggedIn(() => ({ exitCode: 137 }));
    expect(await console.run("kill -9 $$")).toMatchObject({ exitCode: 137, signal: null });
  });
});

describe("serial console: lifecycle", () => {
  test("close() lets queued operations finish, removes the last output file, logs out, then closes", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn((command) => ({
      exitCode: 0,
      output: `${command}\n`,
    }));
    const running = console.run("first");
    const closing = console.close();
    const late = console.run("late");
    expect((await running).output).toBe("first\n");
    await closing;
    expect((await rejection(late)).code).toBe("ERR_CONSOLE_CLOSED");
    expect(await console.closed).toEqual({ by: "client" });
    expect(peer.allWritten).toMatch(/rm -rf \/tmp\/\.qk-[0-9a-f]{12}; exit\n$/);
    expect(peer.state).toBe("login");
    expect(peer.destroyed).toBe(true);
  });

  test("a reset by the peer is the peer going away; await using closes", async ({ consoles }) => {
    const { peer, console } = consoles.setUp();
    const waiting = console.expect("never");
    peer.destroy(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
    expect((await rejection(waiting)).code).toBe("ERR_CONSOLE_CLOSED");
    expect(await console.closed).toMatchObject({ by: "peer", error: { code: "ECONNRESET" } });

    const other = new FakeShell();
    {
      await using scoped = createSerialConsole(other);
      expect(scoped.isClosed).toBe(false);
    }
    expect(other.destroyed).toBe(true);
  });
});

describe("serial console: diagnostics", () => {
  test("login and run are published on qemu-kvm:control, with their start and end", async ({
    consoles,
  }) => {
    const messages: OperationMessage[] = [];
    const listener = (message: unknown) => messages.push(message as OperationMessage);
    subscribe("qemu-kvm:control", listener);
    onTestFinished(() => {
      unsubscribe("qemu-kvm:control", listener);
    });
    const { console } = await consoles.loggedIn(() => ({ exitCode: 0, output: "hi\n" }));
    await console.run("echo hi");
    expect(messages.map(({ operation, phase, target }) => [operation, phase, target])).toEqual([
      ["login", "start", "root"],
      ["login", "end", "root"],
      ["run", "start", "echo hi"],
      ["run", "end", "echo hi"],
    ]);
    expect(messages[1]!.id).toBe(messages[0]!.id);
    expect(messages[3]!.durationMs).toBeGreaterThanOrEqual(0);
    await rejection(console.run("sleep 1", { timeoutMs: 0 }));
    expect(messages.at(-1)).toMatchObject({ operation: "run", phase: "error" });
  });
});
