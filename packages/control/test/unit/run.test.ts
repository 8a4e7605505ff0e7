import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { MAX_LINE_CHARS } from "../../src/console/run-protocol.js";
import { createSerialConsole } from "../../src/index.js";
import { test } from "../helpers/console-setup.js";
import { FakeShell } from "../helpers/fake-shell.js";
import { rejection } from "../helpers/rejection.js";

const echo = (command: string) => ({ exitCode: 0, output: `${command}\n` });

describe("run", () => {
  test("returns exit codes and the output alone", async ({ consoles }) => {
    const { console } = await consoles.loggedIn((command) => {
      if (command === "true") return { exitCode: 0 };
      if (command === "false") return { exitCode: 1 };
      if (command === "echo hi") return { exitCode: 0, output: "hi\n" };
      return { exitCode: 127, output: `sh: ${command}: not found\n` };
    });
    expect(await console.run("true")).toMatchObject({
      exitCode: 0,
      output: "",
      outputTruncated: false,
    });
    expect(await console.run("false")).toMatchObject({ exitCode: 1, output: "" });
    expect(await console.run("echo hi")).toMatchObject({ exitCode: 0, output: "hi\n" });
    expect(await console.run("nosuch")).toMatchObject({
      exitCode: 127,
      output: "sh: nosuch: not found\n",
    });
    console.destroy();
  });

  test("carries output that looks like prompts, markers and binary bytes unchanged", async ({
    consoles,
  }) => {
    const tricky = Buffer.concat([
      Buffer.from("root@guest:~# \nguest login: \nPassword: \nQKS:0123:0\nQKE:0123\n\r\n"),
      randomBytes(3_000),
      Buffer.from([0xff, 0x00, 0x1b]),
    ]);
    const { console } = await consoles.loggedIn(() => ({ exitCode: 0, output: tricky }));
    const result = await console.run("cat tricky");
    expect(result.outputBytes.equals(tricky)).toBe(true);
    console.destroy();
  });

  test("cuts kernel messages out of the transfer, wherever they land", async ({ consoles }) => {
    const lines = Array.from({ length: 2_000 }, (_, index) => `line ${index + 1}`).join("\n");
    const kernel = (index: number) =>
      `[ ${String(10 + index).padStart(4)}.123456] usb ${index}: noise\r\n`;
    const { console } = await consoles.loggedIn(() => ({ exitCode: 0, output: `${lines}\n` }), {
      chunkSize: 37,
      intrude: (index) => (index % 5 === 2 ? kernel(index) : undefined),
    });
    const result = await console.run("seq");
    expect(result.output).toBe(`${lines}\n`);
    expect(console.transcript()).toContain("usb 7: noise");
    console.destroy();
  });

  test("sends damaged output again, and gives up with ERR_CONSOLE_OUTPUT after three tries", async ({
    consoles,
  }) => {
    const noIdentity = { guestIdentity: false } as const;
    const once = await consoles.loggedIn(
      () => ({ exitCode: 3, output: "data\n" }),
      { corruptTransfers: 1 },
      noIdentity,
    );
    expect(await once.console.run("x")).toMatchObject({ exitCode: 3, output: "data\n" });
    expect(once.console.transcript()).toContain("sending it again");
    once.console.destroy();

    const always = await consoles.loggedIn(
      () => ({ exitCode: 3, output: "data\n" }),
      { corruptTransfers: 99 },
      noIdentity,
    );
    const error = await rejection(always.console.run("x"));
    expect(error).toMatchObject({ code: "ERR_CONSOLE_OUTPUT", reason: "corrupt", exitCode: 3 });
    // The console is still usable.
    expect(always.console.isLoggedIn).toBe(true);
    always.console.destroy();
  });

  test("reports truncation past maxOutputBytes", async ({ consoles }) => {
    const big = "z".repeat(5_000);
    const { console } = await consoles.loggedIn(
      () => ({ exitCode: 0, output: big }),
      {},
      { maxOutputBytes: 2_048 },
    );
    const result = await console.run("big");
    expect(result.outputTruncated).toBe(true);
    expect(result.output).toBe("z".repeat(2_048));
    console.destroy();
  });

  test("delivers long commands and commands with newlines, tabs and non-ASCII intact", async ({
    consoles,
  }) => {
    const seen: string[] = [];
    const { console } = await consoles.loggedIn((command) => {
      seen.push(command);
      return { exitCode: 0 };
    });
    const long = `echo ${"word' ".repeat(300)}`;
    const multiline = "printf 'a\\tb'\nif true; then\n\techo \"café ☕\"\nfi";
    await console.run(long);
    await console.run(multiline);
    expect(seen).toEqual([long, multiline]);
    console.destroy();
  });

  test("interrupts a command that does not end: ERR_TIMEOUT, then Ctrl-C, and the console works", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn((command) =>
      command === "sleep 1000" ? "hang" : { exitCode: 0, output: "after\n" },
    );
    const error = await rejection(console.run("sleep 1000", { timeoutMs: 50 }));
    expect(error.code).toBe("ERR_TIMEOUT");
    expect(await console.run("echo after")).toMatchObject({ exitCode: 0, output: "after\n" });
    expect(peer.allWritten).toContain("\x03");
    console.destroy();
  });

  test("says ERR_CONSOLE_DESYNC when Ctrl-C does not bring the shell back", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn(
      (command) => (command === "stuck" ? "hang" : { exitCode: 0 }),
      { ignoreInterrupts: true },
      { recoveryTimeoutMs: 150 },
    );
    expect((await rejection(console.run("stuck", { timeoutMs: 30 }))).code).toBe("ERR_TIMEOUT");
    expect((await rejection(console.run("true"))).code).toBe("ERR_CONSOLE_DESYNC");
    expect(peer.allWritten).toContain("\x1c");
    // Once the command ends by itself, the console catches up.
    peer.finish();
    expect(await console.run("true")).toMatchObject({ exitCode: 0 });
    console.destroy();
  });

  test("notices the shell exiting (ERR_CONSOLE_LOGGED_OUT) and can log in again", async ({
    consoles,
  }) => {
    const { console } = await consoles.loggedIn((command) =>
      command === "exit" ? "exit" : { exitCode: 0 },
    );
    expect((await rejection(console.run("exit"))).code).toBe("ERR_CONSOLE_LOGGED_OUT");
    expect(console.isLoggedIn).toBe(false);
    await console.login();
    expect(await console.run("true")).toMatchObject({ exitCode: 0 });
    console.destroy();
  });

  test("leaves the login prompt that ended a run for the next reader, however it was split", async ({
    consoles,
  }) => {
    // The prompt may arrive in pieces: a piece the run parser has read must not be lost.
    for (const pieceSize of [1, 2, 3, 5, 7, 64]) {
      const { console } = await consoles.loggedIn(
        (command) => (command === "exit" ? "exit" : { exitCode: 0 }),
        { slowLoginPrompt: pieceSize },
      );
      expect((await rejection(console.run("exit"))).code).toBe("ERR_CONSOLE_LOGGED_OUT");
      const shown = await console.expect("login: ", { timeoutMs: 1_000 });
      expect(shown.match).toBe("login: ");
      console.destroy();
    }
  });

  test("defines its transfer function again when the shell lost it (exec sh), without running the command twice", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn((command) => ({
      exitCode: 4,
      output: `${command}\n`,
    }));
    await console.run("first"); // the first run defines it
    peer.functionDefined = false;
    expect(await console.run("once")).toMatchObject({ exitCode: 4, output: "once\n" });
    expect(peer.commandsRun.filter((command) => command === "once")).toHaveLength(1);
    expect(console.transcript()).toContain("lost the transfer function");
    console.destroy();
  });

  test("the first run sets the shell up on its own line, in one round trip; later runs do not", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn(echo);
    const mark = peer.allWritten.length;
    expect(await console.run("first")).toMatchObject({ exitCode: 0, output: "first\n" });
    const typed = peer.allWritten.slice(mark).split("\n").filter(Boolean);
    expect(typed).toHaveLength(1); // function, directory and command on one line
    expect(typed[0]).toMatch(/^__qk\(\)\{ .*; if mkdir -m 700 \S+; then .*\{ eval 'first'; \}/);
    expect(typed[0]!.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    const again = peer.allWritten.length;
    expect(await console.run("second")).toMatchObject({ exitCode: 0, output: "second\n" });
    expect(peer.allWritten.slice(again)).toMatch(/^rm -f \S+; \{ eval 'second'; \}[^\n]*\n$/);
    expect(peer.functionDefinitions).toBe(1);
    console.destroy();
  });

  test("a first command too long to share the set-up's line: the set-up goes alone first", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn(echo);
    const long = `echo ${"x".repeat(380)}`; // typed inline, but not beside the function
    const mark = peer.allWritten.length;
    expect(await console.run(long)).toMatchObject({ exitCode: 0, output: `${long}\n` });
    const typed = peer.allWritten.slice(mark).split("\n").filter(Boolean);
    expect(typed).toHaveLength(2);
    expect(typed[0]).toMatch(
      /^__qk\(\)\{ .*; if mkdir -m 700 \S+; then printf '%s:%s\\n' QKR \w+; else/,
    );
    expect(typed[0]).not.toContain("eval");
    expect(typed[1]).toMatch(/^\{ eval 'echo x+'; \}/);
    for (const line of typed) expect(line.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    expect(peer.commandsRun).toEqual([long]);
    console.destroy();
  });

  test("a first command assembled over several lines: the pieces, then the set-up with the command", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn(echo);
    const long = `echo ${"y".repeat(1_500)}`;
    expect(await console.run(long)).toMatchObject({ exitCode: 0, output: `${long}\n` });
    const lines = peer.allWritten.split("\n");
    const setup = lines.findIndex((line) => line.startsWith("__qk(){ "));
    expect(lines[setup]).toContain(`{ eval "$__qk_c"; }`);
    expect(lines[setup - 1]).toMatch(/^__qk_c="\$__qk_c"'y+'; printf/);
    console.destroy();
  });

  test("resync() interrupts a program left running by raw writes, and the shell answers again", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn((command) =>
      command === "top" ? "hang" : { exitCode: 0 },
    );
    expect((await rejection(console.run("top", { timeoutMs: 20 }))).code).toBe("ERR_TIMEOUT");
    await console.run("true"); // waits behind the recovery of the interrupted command
    peer.state = "busy"; // as if someone started a program by hand
    await console.resync();
    expect(peer.state).toBe("shell");
    const fresh = consoles.setUp();
    expect((await rejection(fresh.console.resync())).code).toBe("ERR_CONSOLE_NOT_LOGGED_IN");
    fresh.console.destroy();
    console.destroy();
  });

  test("runs operations one at a time in call order", async ({ consoles }) => {
    const { console } = await consoles.loggedIn((command) => ({
      exitCode: 0,
      output: `${command}\n`,
    }));
    const results = await Promise.all(["a", "b", "c", "d"].map((name) => console.run(name)));
    expect(results.map((result) => result.output)).toEqual(["a\n", "b\n", "c\n", "d\n"]);
    console.destroy();
  });

  test("parses the network state from ip -o", async ({ consoles }) => {
    const ip = [
      "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
      "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel qlen 1000\\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff",
      "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
      "2: eth0    inet 10.0.2.15/24 scope global eth0\\       valid_lft forever preferred_lft forever",
      "2: eth0    inet6 fec0::5054:ff:fe12:3456/64 scope site dynamic \\       valid_lft 86391sec",
      "",
    ].join("\n");
    const { console } = await consoles.loggedIn(() => ({ exitCode: 0, output: ip }));
    expect(await console.networkInterfaces()).toEqual([
      {
        name: "lo",
        macAddress: undefined,
        addresses: [{ family: "ipv4", address: "127.0.0.1", prefixLength: 8 }],
      },
      {
        name: "eth0",
        macAddress: "52:54:00:12:34:56",
        addresses: [
          { family: "ipv4", address: "10.0.2.15", prefixLength: 24 },
          { family: "ipv6", address: "fec0::5054:ff:fe12:3456", prefixLength: 64 },
        ],
      },
    ]);
    expect(await console.waitForNetwork({ address: "10.0.2.15" })).toHaveLength(2);
    console.destroy();
  });

  test("rejects what cannot be typed, at once (ERR_INVALID_ARGUMENT, a TypeError)", ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    const invalid = (field: string) =>
      expect.objectContaining({
        name: "InvalidArgumentError",
        code: "ERR_INVALID_ARGUMENT",
        field,
      });
    expect(() => console.run("a\0b")).toThrow(TypeError);
    expect(() => console.run("a\0b")).toThrow(invalid("command"));
    expect(() => createSerialConsole(new FakeShell(), { scratchDirectory: "/tmp/a b" })).toThrow(
      invalid("options.scratchDirectory"),
    );
    const badPassword = (() => {
      try {
        createSerialConsole(new FakeShell(), { password: "a\nb" });
      } catch (error) {
        return error as Error;
      }
    })();
    expect(badPassword).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: "options.password" });
    expect(badPassword?.message).not.toContain("a\nb"); // a password is never shown
    expect(peer.allWritten).toBe(""); // nothing was typed
  });
});
