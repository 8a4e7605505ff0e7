import { describe, expect } from "vitest";
import { SPLIT_MATCH_CHARS } from "../../src/console/patterns.js";
import { ConsoleClosedError } from "../../src/index.js";
import { test } from "../helpers/console-setup.js";
import { rejection } from "../helpers/rejection.js";

describe("expect engine", () => {
  test("matches a string split across chunks and keeps what follows", async ({ consoles }) => {
    const { peer, console } = consoles.setUp();
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

  test("reports which pattern matched first, and RegExp groups", async ({ consoles }) => {
    const { peer, console } = consoles.setUp();
    peer.push("abc Password: x login: ");
    const match = await console.expect(["login:", /Pass(word):/]);
    expect(match.index).toBe(1);
    expect(match.groups?.[1]).toBe("word");
    expect(console.buffer).toBe(" x login: ");
    console.destroy();
  });

  test("times out (ERR_TIMEOUT) and aborts (ERR_ABORTED), keeping the unread text", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
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

  test("bounds unread output: a flood while nobody reads is reported once, then reading goes on", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({}, { bufferSize: 1024 });
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

  test("a waiting expect sees every character of a flood before it is dropped", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({}, { bufferSize: 1024 });
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

  test("a RegExp match split between arrivals is found up to SPLIT_MATCH_CHARS long; index and input as if the whole text was searched", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    const body = "b".repeat(SPLIT_MATCH_CHARS - "<begin></end>".length);
    const waiting = console.expect(/<begin>(b+)<\/end>/d);
    const watching = console.waitForOutput(/<begin>(b+)<\/end>/);
    const text = `${"a".repeat(5_000)}<begin>${body}</end> rest`;
    for (const char of text) peer.push(char); // one character per arrival
    const match = await waiting;
    expect(match.match).toHaveLength(SPLIT_MATCH_CHARS);
    expect(match.groups?.index).toBe(5_000);
    expect(match.groups?.input).toBe(text.slice(0, match.groups!.input.length));
    expect(match.groups?.indices?.[1]).toEqual([5_007, 5_007 + body.length]);
    expect((await watching).before).toBe("a".repeat(5_000));
  });

  test("^ is the start of the unread text and lookbehinds see what came before, whatever the arrivals", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    const anchored = console.waitForOutput(/^foo/, { timeoutMs: 200 });
    const behind = console.expect(/(?<=x{10})foo/);
    for (let i = 0; i < 3_000; i++) peer.push("x");
    peer.push("fo");
    peer.push("o");
    expect((await behind).before).toHaveLength(3_000);
    expect((await rejection(anchored)).code).toBe("ERR_TIMEOUT");
    peer.push("foo at the start");
    expect((await console.expect(/^foo/)).before).toBe("");
  });

  test("rejects with ERR_CONSOLE_CLOSED when the stream ends, and says who closed it", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    const waiting = console.expect("never");
    peer.hangUp();
    expect((await rejection(waiting)).code).toBe("ERR_CONSOLE_CLOSED");
    expect(await console.closed).toEqual({ by: "peer" });
    expect(console.isClosed).toBe(true);
    await expect(console.write("x")).rejects.toBeInstanceOf(ConsoleClosedError);
  });

  test("speaks telnet: answers negotiation, strips IAC from input, doubles 0xFF on output", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({}, { telnet: true });
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
