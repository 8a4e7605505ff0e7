import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  ConsoleClosedError,
  type SerialConsole,
  type SerialConsoleOptions,
  serialConsole,
} from "../../src/index.js";
import { rejection } from "../rejection.js";
import { type FakeCommand, FakeShell, type FakeShellOptions } from "./fake-shell.js";

const PASSWORD = "s3cret-pw";

function setUp(shell: FakeShellOptions = {}, options: SerialConsoleOptions = {}) {
  const peer = new FakeShell({ password: PASSWORD, ...shell });
  const console = serialConsole(peer, { password: PASSWORD, nudgeIntervalMs: 200, ...options });
  return { peer, console };
}

async function loggedIn(
  commands: (command: string) => FakeCommand,
  shell: FakeShellOptions = {},
  options: SerialConsoleOptions = {},
): Promise<{ peer: FakeShell; console: SerialConsole }> {
  const pair = setUp({ state: "shell", commands, ...shell }, options);
  await pair.console.login();
  return pair;
}

describe("expect engine", () => {
  it("matches a string split across chunks and keeps what follows", async () => {
    const { peer, console } = setUp();
    const waiting = console.expect("login:");
    peer.push("guest lo");
    peer.push("gin: tail");
    const match = await waiting;
    expect(match.before).toBe("guest ");
    expect(match.match).toBe("login:");
    expect(console.buffer).toBe(" tail");
    // What was not consumed is found at once by the next expect.
    expect((await console.expect(/t(a)il/)).groups?.[1]).toBe("a");
    expect(console.buffer).toBe("");
    console.destroy();
  });

  it("reports which pattern matched first, and RegExp groups", async () => {
    const { peer, console } = setUp();
    peer.push("abc Password: x login: ");
    const match = await console.expect(["login:", /Pass(word):/]);
    expect(match.index).toBe(1);
    expect(match.groups?.[1]).toBe("word");
    expect(console.buffer).toBe(" x login: ");
    console.destroy();
  });

  it("times out (ERR_TIMEOUT) and aborts (ERR_ABORTED), keeping the unread text", async () => {
    const { peer, console } = setUp();
    peer.push("some output");
    const timedOut = await rejection(console.expect("never", { timeoutMs: 30 }));
    expect(timedOut.code).toBe("ERR_TIMEOUT");
    expect(timedOut.transcript).toContain("some output");
    expect(console.buffer).toBe("some output");
    const controller = new AbortController();
    const waiting = console.expect("never", { signal: controller.signal });
    controller.abort(new Error("test over"));
    const aborted = await rejection(waiting);
    expect(aborted.code).toBe("ERR_ABORTED");
    expect((aborted.cause as Error).message).toBe("test over");
    // An already-aborted signal rejects at once too.
    expect((await rejection(console.expect("x", { signal: controller.signal }))).code).toBe(
      "ERR_ABORTED",
    );
    console.destroy();
  });

  it("bounds unread output: a flood while nobody reads is reported once, then reading goes on", async () => {
    const { peer, console } = setUp({}, { bufferSize: 1024 });
    peer.push("X".repeat(5_000));
    peer.push("END");
    await new Promise((resolve) => setImmediate(resolve)); // delivered while nobody reads
    const overflow = await rejection(console.expect("END"));
    expect(overflow.code).toBe("ERR_CONSOLE_OVERFLOW");
    expect(overflow).toMatchObject({ droppedChars: 5_003 - 1024, bufferSize: 1024 });
    expect(console.buffer.length).toBe(1024);
    expect((await console.expect("END")).before).toBe("X".repeat(1021));
    console.destroy();
  });

  it("a waiting expect sees every character of a flood before it is dropped", async () => {
    const { peer, console } = setUp({}, { bufferSize: 1024 });
    const waiting = console.expect("NEEDLE");
    for (let i = 0; i < 50; i++) peer.push("y".repeat(100));
    peer.push("NEE");
    peer.push("DLE!");
    for (let i = 0; i < 50; i++) peer.push("z".repeat(100));
    const match = await waiting;
    expect(match.match).toBe("NEEDLE");
    expect(console.buffer.length).toBe(1024); // the rest, bounded
    console.destroy();
  });

  it("rejects with ERR_CONSOLE_CLOSED when the stream ends, and says who closed it", async () => {
    const { peer, console } = setUp();
    const waiting = console.expect("never");
    peer.hangUp();
    expect((await rejection(waiting)).code).toBe("ERR_CONSOLE_CLOSED");
    expect(await console.closed).toEqual({ by: "peer" });
    expect(console.isClosed).toBe(true);
    await expect(console.write("x")).rejects.toBeInstanceOf(ConsoleClosedError);
  });

  it("speaks telnet: answers negotiation, strips IAC from input, doubles 0xFF on output", async () => {
    const { peer, console } = setUp({}, { telnet: true });
    peer.push(Buffer.from([0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03, 0xff]));
    peer.push(Buffer.from([0xfb, 0x00, 0xff, 0xfd, 0x00]));
    peer.push(Buffer.from([0x6c, 0x6f, 0xff, 0xff, 0x67, 0x69, 0x6e, 0x3a]));
    await console.expect("lo\ufffdgin:"); // 0xFF alone is not UTF-8
    await console.write(Buffer.from([0x41, 0xff, 0x0a]));
    expect(Buffer.concat(peer.writtenBytes)).toEqual(
      Buffer.from([
        0xff, 0xfd, 0x01, 0xff, 0xfd, 0x03, 0xff, 0xfd, 0x00, 0xff, 0xfb, 0x00, 0x41, 0xff, 0xff,
        0x0a,
      ]),
    );
    console.destroy();
  });
});

describe("login", () => {
  it("logs in from a login prompt shown at once", async () => {
    const { peer, console } = setUp({ greet: true });
    await console.login();
    expect(console.isLoggedIn).toBe(true);
    expect(peer.state).toBe("shell");
    // The password was typed, but never shows in the transcript.
    expect(peer.allWritten).toContain(`${PASSWORD}\n`);
    expect(console.transcript()).not.toContain(PASSWORD);
    expect(console.transcript()).toContain("«********\\n»");
    console.destroy();
  });

  it("sends a newline to an idle console (a late connection), then logs in", async () => {
    const { peer, console } = setUp();
    await console.login();
    expect(peer.written[0]).toBe("\n");
    expect(console.isLoggedIn).toBe(true);
    console.destroy();
  });

  it("finishes a half-done login of its own user, and ends someone else's", async () => {
    const own = setUp({ greet: true });
    await own.console.expect("login: ");
    await own.console.write("root\n"); // someone typed the user name and walked away
    await own.console.expect("Password: ");
    own.peer.send("guest login: root\r\nPassword: "); // as a logfile replay would show it
    await own.console.login();
    expect(own.console.isLoggedIn).toBe(true);
    expect(own.peer.allWritten.split("\n").filter((line) => line === "root")).toHaveLength(1);
    own.console.destroy();

    const other = setUp({ greet: true });
    await other.console.expect("login: ");
    await other.console.write("admin\n"); // someone else's user name
    await other.console.login();
    expect(other.console.isLoggedIn).toBe(true);
    // Not our user: that password prompt got an empty line, never the password.
    const written = other.peer.allWritten;
    expect(written.indexOf("admin\n")).toBeLessThan(written.indexOf("root\n"));
    expect(written.split(PASSWORD)).toHaveLength(2); // typed once, for root
    other.console.destroy();
  });

  it("finds a shell already logged in, checks it with a marker, and the guest identity", async () => {
    const { peer, console } = setUp({ state: "shell" });
    peer.send("root@guest:~# \x1b[6n");
    await console.login();
    expect(console.isLoggedIn).toBe(true);
    expect(peer.commandsRun).toEqual(["cat /sys/class/dmi/id/sys_vendor"]);
    console.destroy();
  });

  it("refuses a shell that fails the identity check (ERR_CONSOLE_NOT_GUEST)", async () => {
    const { console } = setUp({ state: "shell", dmiVendor: "LENOVO" });
    const error = await rejection(console.login());
    expect(error.code).toBe("ERR_CONSOLE_NOT_GUEST");
    expect(error.message).toContain("LENOVO");
    expect(console.isLoggedIn).toBe(false);
    expect((await rejection(console.run("true"))).code).toBe("ERR_CONSOLE_NOT_LOGGED_IN");
    console.destroy();
  });

  it("reports a wrong password (ERR_CONSOLE_LOGIN) without showing it", async () => {
    const peer = new FakeShell({ password: "right", greet: true });
    const console = serialConsole(peer, { password: "wrong-password", nudgeIntervalMs: 200 });
    const error = await rejection(console.login());
    expect(error.code).toBe("ERR_CONSOLE_LOGIN");
    expect(error.transcript).not.toContain("wrong-password");
    expect(error.message).not.toContain("wrong-password");
    console.destroy();
  });

  it("sees prompts through kernel messages printed in their middle", async () => {
    const peer = new FakeShell({ password: PASSWORD, chunkSize: 3 });
    const console = serialConsole(peer, { password: PASSWORD, nudgeIntervalMs: 60_000 });
    peer.send("guest lo[    5.123456] e1000: eth0 NIC Link is Up\r\ngin: ");
    await console.login({ timeoutMs: 10_000 });
    expect(console.isLoggedIn).toBe(true);
    console.destroy();
  });
});

describe("run", () => {
  it("returns exit codes and the output alone", async () => {
    const { console } = await loggedIn((command) => {
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

  it("carries output that looks like prompts, markers and binary bytes unchanged", async () => {
    const tricky = Buffer.concat([
      Buffer.from("root@guest:~# \nguest login: \nPassword: \nQKS:0123:0\nQKE:0123\n\r\n"),
      randomBytes(3_000),
      Buffer.from([0xff, 0x00, 0x1b]),
    ]);
    const { console } = await loggedIn(() => ({ exitCode: 0, output: tricky }));
    const result = await console.run("cat tricky");
    expect(result.outputBytes.equals(tricky)).toBe(true);
    console.destroy();
  });

  it("cuts kernel messages out of the transfer, wherever they land", async () => {
    const lines = Array.from({ length: 2_000 }, (_, index) => `line ${index + 1}`).join("\n");
    const kernel = (index: number) =>
      `[ ${String(10 + index).padStart(4)}.123456] usb ${index}: noise\r\n`;
    const { console } = await loggedIn(() => ({ exitCode: 0, output: `${lines}\n` }), {
      chunkSize: 37,
      intrude: (index) => (index % 5 === 2 ? kernel(index) : undefined),
    });
    const result = await console.run("seq");
    expect(result.output).toBe(`${lines}\n`);
    expect(console.transcript()).toContain("usb 7: noise");
    console.destroy();
  });

  it("sends damaged output again, and gives up with ERR_CONSOLE_OUTPUT after three tries", async () => {
    const noIdentity = { guestIdentity: false } as const;
    const once = await loggedIn(
      () => ({ exitCode: 3, output: "data\n" }),
      { corruptTransfers: 1 },
      noIdentity,
    );
    expect(await once.console.run("x")).toMatchObject({ exitCode: 3, output: "data\n" });
    expect(once.console.transcript()).toContain("sending it again");
    once.console.destroy();

    const always = await loggedIn(
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

  it("reports truncation past maxOutputBytes", async () => {
    const big = "z".repeat(5_000);
    const { console } = await loggedIn(
      () => ({ exitCode: 0, output: big }),
      {},
      { maxOutputBytes: 2_048 },
    );
    const result = await console.run("big");
    expect(result.outputTruncated).toBe(true);
    expect(result.output).toBe("z".repeat(2_048));
    console.destroy();
  });

  it("delivers long commands and commands with newlines, tabs and non-ASCII intact", async () => {
    const seen: string[] = [];
    const { console } = await loggedIn((command) => {
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

  it("interrupts a command that does not end: ERR_TIMEOUT, then Ctrl-C, and the console works", async () => {
    const { peer, console } = await loggedIn((command) =>
      command === "sleep 1000" ? "hang" : { exitCode: 0, output: "after\n" },
    );
    const error = await rejection(console.run("sleep 1000", { timeoutMs: 50 }));
    expect(error.code).toBe("ERR_TIMEOUT");
    expect(await console.run("echo after")).toMatchObject({ exitCode: 0, output: "after\n" });
    expect(peer.allWritten).toContain("\x03");
    console.destroy();
  });

  it("says ERR_CONSOLE_DESYNC when Ctrl-C does not bring the shell back", async () => {
    const { peer, console } = await loggedIn(
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

  it("notices the shell exiting (ERR_CONSOLE_LOGGED_OUT) and can log in again", async () => {
    const { console } = await loggedIn((command) =>
      command === "exit" ? "exit" : { exitCode: 0 },
    );
    expect((await rejection(console.run("exit"))).code).toBe("ERR_CONSOLE_LOGGED_OUT");
    expect(console.isLoggedIn).toBe(false);
    await console.login();
    expect(await console.run("true")).toMatchObject({ exitCode: 0 });
    console.destroy();
  });

  it("leaves the login prompt that ended a run for the next reader, however it was split", async () => {
    // The prompt may arrive in pieces: a piece the run parser has read must not be lost.
    for (const pieceSize of [1, 2, 3, 5, 7, 64]) {
      const { console } = await loggedIn(
        (command) => (command === "exit" ? "exit" : { exitCode: 0 }),
        { slowLoginPrompt: pieceSize },
      );
      expect((await rejection(console.run("exit"))).code).toBe("ERR_CONSOLE_LOGGED_OUT");
      const shown = await console.expect("login: ", { timeoutMs: 1_000 });
      expect(shown.match).toBe("login: ");
      console.destroy();
    }
  });

  it("defines its transfer function again when the shell lost it (exec sh), without running the command twice", async () => {
    const { peer, console } = await loggedIn((command) => ({
      exitCode: 4,
      output: `${command}\n`,
    }));
    peer.functionDefined = false;
    expect(await console.run("once")).toMatchObject({ exitCode: 4, output: "once\n" });
    expect(peer.commandsRun.filter((command) => command === "once")).toHaveLength(1);
    expect(console.transcript()).toContain("lost the transfer function");
    console.destroy();
  });

  it("resync() interrupts a program left running by raw writes, and the shell answers again", async () => {
    const { peer, console } = await loggedIn((command) =>
      command === "top" ? "hang" : { exitCode: 0 },
    );
    expect((await rejection(console.run("top", { timeoutMs: 20 }))).code).toBe("ERR_TIMEOUT");
    await console.run("true"); // waits behind the recovery of the interrupted command
    peer.state = "busy"; // as if someone started a program by hand
    await console.resync();
    expect(peer.state).toBe("shell");
    const fresh = setUp();
    expect((await rejection(fresh.console.resync())).code).toBe("ERR_CONSOLE_NOT_LOGGED_IN");
    fresh.console.destroy();
    console.destroy();
  });

  it("runs operations one at a time in call order", async () => {
    const { console } = await loggedIn((command) => ({ exitCode: 0, output: `${command}\n` }));
    const results = await Promise.all(["a", "b", "c", "d"].map((name) => console.run(name)));
    expect(results.map((result) => result.output)).toEqual(["a\n", "b\n", "c\n", "d\n"]);
    console.destroy();
  });

  it("parses the network state from ip -o", async () => {
    const ip = [
      "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
      "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel qlen 1000\\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff",
      "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
      "2: eth0    inet 10.0.2.15/24 scope global eth0\\       valid_lft forever preferred_lft forever",
      "2: eth0    inet6 fec0::5054:ff:fe12:3456/64 scope site dynamic \\       valid_lft 86391sec",
      "",
    ].join("\n");
    const { console } = await loggedIn(() => ({ exitCode: 0, output: ip }));
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

  it("rejects what cannot be typed, at once", async () => {
    const { console } = setUp();
    expect(() => console.run("a\0b")).toThrow(TypeError);
    expect(() => serialConsole(new FakeShell(), { scratchDirectory: "/tmp/a b" })).toThrow(
      TypeError,
    );
    expect(() => serialConsole(new FakeShell(), { password: "a\nb" })).toThrow(TypeError);
    console.destroy();
  });
});
