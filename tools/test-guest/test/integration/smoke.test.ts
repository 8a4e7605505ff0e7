/**
 * Smoke test: the real guest boots under QEMU (TCG) to its login prompt, and QEMU
 * stops cleanly. Everything started is stopped after its test, even on failure
 * (testkit's tempDir and launchQemu fixtures, onTestFinished for the rest).
 */

import { watch } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { freePort } from "@qemu-kvm/testkit";
import { test } from "@qemu-kvm/testkit/fixtures";
import { beforeAll, expect, onTestFinished } from "vitest";
import { ensureGuest, type LaunchedGuest, launchGuest, type TestGuest } from "../../src/index.js";

const LOGIN_TIMEOUT_MS = 60_000;

let guest: TestGuest;

beforeAll(async () => {
  guest = await ensureGuest();
}, 1_200_000);

test("the guest boots to `login:` on its serial console, and QEMU stops cleanly", async () => {
  const vm: LaunchedGuest = await launchGuest(guest);
  onTestFinished(() => vm.stop().then(() => {}));
  const { sinceSpawnMs } = await vm.waitForOutput(guest.credentials.loginPrompt, {
    timeoutMs: LOGIN_TIMEOUT_MS,
  });
  expect(sinceSpawnMs).toBeGreaterThan(0);
  // The wait ends at `login:`; the space after it may still be on its way.
  expect(vm.output()).toMatch(/guest login: ?$/);
  expect(await vm.stop()).toBe("quit");
  expect(await vm.exited).toEqual({ code: 0, signal: null });
});

/** Resolves once `path` contains `text` (inotify on the file, no polling). */
async function waitForFileText(path: string, text: string, timeoutMs: number): Promise<string> {
  const signal = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve, reject) => {
    const watcher = watch(path, { signal });
    const check = () =>
      readFile(path, "latin1").then((content) => {
        if (content.includes(text)) {
          watcher.close();
          resolve(content);
        }
      }, reject);
    watcher.on("change", () => void check());
    watcher.on("error", (error) =>
      reject(signal.aborted ? new Error(`no "${text}" in ${path} after ${timeoutMs} ms`) : error),
    );
    void check();
  });
}

test("qemuArgs' telnet console on 127.0.0.1 with a logfile: nothing printed before a client is lost", async ({
  tempDir,
  launchQemu,
}) => {
  const port = await freePort();
  const logFile = join(tempDir.path, "console.log");
  await launchQemu({
    defaults: false,
    args: guest.qemuArgs({ nic: "none", serial: { type: "telnet", port, log: { path: logFile } } }),
  });
  // The guest prints its prompt with no client attached: the logfile has it.
  await waitForFileText(logFile, "login:", LOGIN_TIMEOUT_MS);

  const socket: Socket = createConnection(port, "127.0.0.1");
  onTestFinished(() => {
    socket.destroy();
  });
  let received = Buffer.alloc(0);
  let onData: () => void = () => {};
  socket.on("data", (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    onData();
  });
  const until = (predicate: () => boolean, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out; got ${received.toString("latin1")}`)),
        timeoutMs,
      );
      onData = () => {
        if (predicate()) {
          clearTimeout(timer);
          resolve();
        }
      };
      onData();
    });
  // QEMU's telnet server opens with IAC WILL ECHO, WILL SGA, WILL BINARY, DO BINARY.
  await until(() => received.length >= 12, 10_000);
  expect([...received.subarray(0, 12)]).toEqual([
    0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03, 0xff, 0xfb, 0x00, 0xff, 0xfd, 0x00,
  ]);
  // A bare newline (not CR LF) gets a fresh prompt.
  socket.write("\n");
  await until(() => received.subarray(12).toString("latin1").includes("login:"), 20_000);
});

test("a QEMU that refuses its arguments: ERR_GUEST_BOOT with QEMU's words, nothing left behind", async () => {
  const error = await launchGuest(guest, { extraArgs: ["-device", "no-such-device"] }).catch(
    (caught: unknown) => caught,
  );
  expect(error).toMatchObject({ code: "ERR_GUEST_BOOT" });
  expect((error as Error).message).toMatch(/no-such-device/);
  // Its runtime directory (named in QEMU's words) is removed on failure too.
  const directory = /\/\S*\/qk-guest-\w+/.exec((error as Error).message)?.[0];
  expect(directory).toBeDefined();
  await expect(access(directory!)).rejects.toMatchObject({ code: "ENOENT" });
});
