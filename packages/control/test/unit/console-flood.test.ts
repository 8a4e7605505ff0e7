import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect } from "vitest";
import { test } from "../helpers/console-setup.js";
import { bootLog, examinedDuring, flood, KiB, MiB } from "../helpers/flood.js";

/**
 * A chatty console must cost work in proportion to what it prints. Rescanning
 * the whole unread text (up to 1 MiB) on every arrival made a 1 MiB boot log
 * in 4 KiB chunks cost about 6 s of CPU, with the event loop pinned. These
 * tests count the characters the console's matchers examine (not time: the
 * machine is shared) and allow at most 4 per character received.
 */
const FLOOD = MiB;
const CHUNK = 4 * KiB;
const LIMIT = 4 * FLOOD;

describe("serial console under a flood: work stays linear in what arrives", {
  timeout: 60_000,
}, () => {
  test("login() through a 1 MiB boot log, and through 1 MiB without a newline, in 4 KiB chunks", async ({
    consoles,
  }) => {
    for (const text of [bootLog(FLOOD), "x".repeat(FLOOD)]) {
      const { peer, console } = consoles.setUp({}, { nudgeIntervalMs: 60_000 });
      const work = await examinedDuring(async () => {
        peer.push("booting…\r\n"); // something shows: login() waits instead of nudging
        await nextTurn();
        const loggingIn = console.login({ timeoutMs: 60_000 });
        await flood(peer, text, CHUNK);
        peer.send("\r\nguest login: ");
        await loggingIn;
      });
      expect(console.isLoggedIn).toBe(true);
      expect(work).toBeLessThanOrEqual(LIMIT);
    }
  });

  test("expect(RegExp) through 1 MiB of lines, and through 1 MiB without a newline", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({}, { bufferSize: 2 * MiB });
    for (const text of [bootLog(FLOOD), "x".repeat(FLOOD)]) {
      let match: Awaited<ReturnType<typeof console.expect>> | undefined;
      const work = await examinedDuring(async () => {
        const waiting = console.expect(/NEEDLE-(\d+)/, { timeoutMs: 60_000 });
        await flood(peer, `${text}NEEDLE-42 and after`, CHUNK);
        match = await waiting;
      });
      expect(match?.groups?.[1]).toBe("42");
      expect(match?.before === text).toBe(true);
      expect(console.buffer).toBe(" and after");
      await console.expect("after");
      expect(work).toBeLessThanOrEqual(LIMIT);
    }
  });

  test("expect(string) through 1 MiB", async ({ consoles }) => {
    const { peer, console } = consoles.setUp({}, { bufferSize: 2 * MiB });
    const text = bootLog(FLOOD);
    const work = await examinedDuring(async () => {
      const waiting = console.expect("NEEDLE", { timeoutMs: 60_000 });
      await flood(peer, `${text}NEEDLE`, CHUNK);
      expect((await waiting).before === text).toBe(true);
    });
    expect(work).toBeLessThanOrEqual(LIMIT);
  });

  test("waitForOutput(RegExp) through 1 MiB", async ({ consoles }) => {
    const { peer, console } = consoles.setUp({}, { bufferSize: 2 * MiB });
    const text = bootLog(FLOOD);
    const work = await examinedDuring(async () => {
      const watching = console.waitForOutput(/login: *$/, { timeoutMs: 60_000 });
      await flood(peer, `${text}\r\nguest login: `, CHUNK);
      const seen = await watching;
      expect(seen.before === `${text}\r\nguest `).toBe(true);
      expect(console.buffer.endsWith("guest login: ")).toBe(true); // not consumed
    });
    // One pattern watched, nothing else reads: the same bound as expect().
    expect(work).toBeLessThanOrEqual(LIMIT);
  });

  test("logout() while the console floods", async ({ consoles }) => {
    const { peer, console } = await consoles.loggedIn(() => ({ exitCode: 0 }), {
      nestedShell: true, // `exit` gives a shell prompt back: the login prompt comes after the flood
    });
    const work = await examinedDuring(async () => {
      const loggingOut = console.logout({ timeoutMs: 60_000 });
      while (peer.logouts === 0) await nextTurn();
      await flood(peer, bootLog(FLOOD), CHUNK);
      peer.send("\r\nguest login: ");
      await loggingOut;
    });
    expect(console.isLoggedIn).toBe(false);
    expect(work).toBeLessThanOrEqual(LIMIT);
  });

  test("run() while kernel messages flood its transfer", async ({ consoles }) => {
    const messages = bootLog(FLOOD)
      .split("\r\n")
      .filter((line) => line.startsWith("["))
      .join("\r\n");
    let armed = false;
    const { console } = await consoles.loggedIn(() => ({ exitCode: 3, output: "hello\n" }), {
      chunkSize: CHUNK,
      intrude: (index) => {
        if (!armed || index !== 0) return undefined;
        armed = false;
        return `${messages}\r\n`;
      },
    });
    armed = true;
    let result: Awaited<ReturnType<typeof console.run>> | undefined;
    const work = await examinedDuring(async () => {
      result = await console.run("greet");
    });
    expect(result).toMatchObject({ exitCode: 3, output: "hello\n" });
    expect(work).toBeLessThanOrEqual(4 * messages.length);
  });
});
