import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { afterAll, describe, expect } from "vitest";
import {
  createSerialConsole,
  dmiProductUuid,
  type SerialConsole,
  type SerialConsoleOptions,
} from "../../src/index.js";
import { BOOT_TIMEOUT_MS, FIRST_TEST_TIMEOUT_MS, test, type UnixGuest } from "../helpers/guests.js";
import { rejection } from "../helpers/rejection.js";
import { printTranscriptOnFailure } from "../helpers/transcript-on-failure.js";

/**
 * What the VM facade relies on, on one guest for the file (the `unixGuest`
 * fixture: QEMU started with `-uuid`, the console on a unix socket held with
 * wait=on, so the first console sees the boot from its first byte). The tests
 * run in order: the first one sees the boot.
 */
let current: SerialConsole | undefined;

function open(guest: UnixGuest, socket: Socket, options: SerialConsoleOptions = {}) {
  current = createSerialConsole(socket, {
    password: guest.password,
    guestIdentity: dmiProductUuid(guest.uuid),
    ...options,
  });
  return current;
}

/** A new client of the guest's console (QEMU's server takes one at a time: the last must be closed). */
async function reconnect(guest: UnixGuest, options: SerialConsoleOptions = {}) {
  expect(current?.isClosed ?? true).toBe(true);
  const socket = createConnection(guest.vm.serialPath);
  await once(socket, "connect");
  return open(guest, socket, options);
}

/** What a fresh client finds on the console: press Enter and see which prompt comes. */
async function promptShown(console: SerialConsole): Promise<"login" | "shell"> {
  await console.sendLine("");
  const { index } = await console.waitForOutput(["guest login: ", "root@guest:~# "], {
    timeoutMs: 60_000,
  });
  return index === 0 ? "login" : "shell";
}

printTranscriptOnFailure(() => current);

afterAll(() => {
  current?.destroy();
});

describe("serial console: what the VM facade relies on (real guest)", {
  timeout: FIRST_TEST_TIMEOUT_MS,
}, () => {
  test("waitForOutput sees login: arrive during the boot without taking it; the transcript has the boot; login() answers that prompt", async ({
    unixGuest,
    annotate,
  }) => {
    const { vm } = unixGuest;
    const shell = open(unixGuest, vm.serial);
    const prompt = await shell.waitForOutput(/login: *$/, { timeoutMs: BOOT_TIMEOUT_MS });
    await annotate(`login: ${(performance.now() - vm.spawnedAt).toFixed(0)} ms after spawn`);
    // The first arrival decides: the prompt's space may still be on its way.
    expect(prompt.match).toMatch(/^login: ?$/);
    expect(shell.buffer).toContain("guest login:"); // still unread
    // What the guest printed before login() was ever called (the password masked:
    // the banner names the distribution, whose name is also the test password).
    const boot = shell.transcript();
    expect(boot).toContain("test guest (Linux");
    expect(boot).not.toContain("«"); // nothing written yet
    await shell.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(shell.isLoggedIn).toBe(true);
    // It answered the prompt it found (no newline to provoke one first).
    expect(shell.transcript().slice(boot.length).startsWith("«root\\n»")).toBe(true);
  });

  test("close() logs out, so the next console finds login:, not a root shell it did not open", async ({
    unixGuest,
    annotate,
  }) => {
    const first = current!;
    if (!first.isLoggedIn) await first.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(await first.run("echo held")).toMatchObject({ exitCode: 0, output: "held\n" });
    // The old way, still available: the shell stays logged in for whoever comes next.
    await first.close({ logout: false });
    const second = await reconnect(unixGuest);
    expect(await promptShown(second)).toBe("shell");
    await second.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(second.transcript()).not.toContain("«********"); // found the shell: no password
    // It holds the shell now, though another console opened it: closing logs it out.
    const closing = performance.now();
    await second.close();
    await annotate(`close() with logout: ${(performance.now() - closing).toFixed(0)} ms`);
    expect(second.transcript()).toContain("[console: logged out]");
    const third = await reconnect(unixGuest);
    expect(await promptShown(third)).toBe("login");
    await third.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(third.transcript().split("«********\\n»")).toHaveLength(2); // a real login
    await third.close();
  });

  test("a wrong DMI product UUID (QEMU's -uuid) fails the login with ERR_CONSOLE_NOT_GUEST; the right one passes", async ({
    unixGuest,
  }) => {
    const wrong = await reconnect(unixGuest, { guestIdentity: dmiProductUuid(randomUUID()) });
    const error = await rejection(wrong.login({ timeoutMs: BOOT_TIMEOUT_MS }));
    expect(error).toMatchObject({
      code: "ERR_CONSOLE_NOT_GUEST",
      exitCode: 0,
      output: unixGuest.uuid, // /sys/class/dmi/id/product_uuid, readable by root
    });
    expect(wrong.isLoggedIn).toBe(false);
    wrong.destroy();
    const right = await reconnect(unixGuest, {
      guestIdentity: dmiProductUuid(unixGuest.uuid.toUpperCase()),
    });
    await right.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(right.isLoggedIn).toBe(true);
    await right.close();
  });
});
