import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect } from "vitest";
import { ConsoleTimeoutError } from "../../src/index.js";
import { PASSWORD, test } from "../helpers/console-setup.js";
import { rejection } from "../helpers/rejection.js";

const invalid = (field: string) => expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field });

describe("serial console: waitForOutput, without consuming", () => {
  test("resolves on a login prompt delivered in pieces, and login() after it still finds the prompt", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    const arrived = console.waitForOutput(/login: *$/, { timeoutMs: 5_000 });
    peer.send("\r\nBooting the guest…\r\n");
    peer.send("\r\nguest lo"); // the prompt, split
    await nextTurn();
    peer.send("gin: ");
    const match = await arrived;
    expect(match).toMatchObject({ index: 0, match: "login: " });
    expect(match.before).toContain("Booting the guest…");
    expect(console.buffer).toContain("guest login: "); // still unread
    await console.login();
    // login() answered the prompt it found: no newline to provoke one first.
    expect(peer.allWritten.startsWith("root\n")).toBe(true);
    expect(console.isLoggedIn).toBe(true);
  });

  test("matches text already unread in the buffer, and picks the earliest of several patterns", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    peer.send("kernel: ok\r\nguest login: ");
    await nextTurn();
    const match = await console.waitForOutput(["login: ", "kernel"]);
    expect(match).toMatchObject({ index: 1, match: "kernel", before: "" });
    expect(console.buffer).toBe("kernel: ok\r\nguest login: ");
  });

  test("times out with ERR_TIMEOUT (and the transcript), leaving the buffer as it was; nothing is written", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    peer.send("still booting\r\n");
    await nextTurn();
    const error = await rejection(console.waitForOutput("login: ", { timeoutMs: 50 }));
    expect(error.code).toBe("ERR_TIMEOUT");
    expect(error).toBeInstanceOf(ConsoleTimeoutError);
    expect(error.transcript).toContain("still booting");
    expect(console.buffer).toBe("still booting\r\n");
    expect(peer.allWritten).toBe("");
    // And the text is still there for the next reader.
    expect((await console.expect("booting")).before).toBe("still ");
  });

  test("sees text that an operation running meanwhile consumes (it is not queued behind it)", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({ greet: true });
    const loggingIn = console.login();
    const shell = console.waitForOutput("built-in shell");
    await loggingIn;
    expect((await shell).match).toBe("built-in shell");
    expect(console.buffer).not.toContain("built-in shell"); // login() read it
    expect(peer.state).toBe("shell");
  });

  test("ERR_CONSOLE_CLOSED when the console ends first; ERR_ABORTED on abort; patterns and options checked", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    const controller = new AbortController();
    const aborted = console.waitForOutput("x", { signal: controller.signal });
    controller.abort(new Error("enough"));
    expect(await rejection(aborted)).toMatchObject({ code: "ERR_ABORTED" });
    const waiting = console.waitForOutput("never");
    peer.hangUp();
    expect((await rejection(waiting)).code).toBe("ERR_CONSOLE_CLOSED");
    expect((await rejection(console.waitForOutput("again"))).code).toBe("ERR_CONSOLE_CLOSED");
    expect(() => console.waitForOutput([])).toThrow(invalid("pattern"));
    expect(() => console.waitForOutput("")).toThrow(invalid("pattern"));
    expect(() => console.waitForOutput("x", { timeoutMs: -1 })).toThrow(
      invalid("options.timeoutMs"),
    );
    expect(() => console.waitForOutput("x", { consume: false } as never)).toThrow(
      invalid("options.consume"),
    );
  });

  test("bounded as expect() is: a match may start at most bufferSize characters back", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({}, { bufferSize: 1024 });
    const near = console.waitForOutput(/S(x+)E/, { timeoutMs: 5_000 });
    const far = console.waitForOutput(/F(y+)G/, { timeoutMs: 200 });
    peer.send(`S${"x".repeat(500)}E`);
    expect((await near).groups?.[1]).toHaveLength(500);
    peer.send(`F${"y".repeat(2_000)}G`); // in 64-byte chunks: F is dropped before G comes
    expect((await rejection(far)).code).toBe("ERR_TIMEOUT");
  });
});

describe("serial console: the transcript", () => {
  test("holds what the guest printed before login() was ever called, the password masked", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    peer.send(`[    1.234567] early kernel line\r\nmotd mentions ${PASSWORD}\r\nguest login: `);
    await nextTurn();
    const early = console.transcript();
    expect(early).toContain("early kernel line");
    expect(early).toContain("guest login: ");
    expect(early).not.toContain(PASSWORD);
    await console.login();
    expect(console.transcript().startsWith(early)).toBe(true);
    expect(console.transcript(10)).toHaveLength(10); // the last 10 characters
  });
});
