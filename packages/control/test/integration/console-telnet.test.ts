import { afterAll, describe, expect } from "vitest";
import {
  createSerialConsole,
  dmiProductUuid,
  type SerialConsole,
  type SerialConsoleOptions,
} from "../../src/index.js";
import { CONTRACT, controlChannelContract } from "../helpers/contract.js";
import {
  BOOT_TIMEOUT_MS,
  FIRST_TEST_TIMEOUT_MS,
  recordRaw,
  type TelnetGuest,
  test,
} from "../helpers/guests.js";
import { rejection } from "../helpers/rejection.js";
import { printTranscriptOnFailure } from "../helpers/transcript-on-failure.js";

/**
 * One guest for the whole file (the `telnetGuest` fixture; the tests are
 * independent of each other: each uses the console it is given, logged in or
 * not), console on telnet with wait=off: the guest boots before anyone
 * connects, as in DTS.
 */
let raw: () => string;
let current: SerialConsole | undefined;

async function attach(vm: TelnetGuest, options: SerialConsoleOptions = {}): Promise<SerialConsole> {
  current?.destroy(); // QEMU's telnet server takes one client at a time
  const socket = await vm.connect();
  raw = recordRaw(socket);
  current = createSerialConsole(socket, {
    telnet: true,
    password: vm.password,
    guestIdentity: dmiProductUuid(vm.uuid),
    ...options,
  });
  return current;
}

/** The current console, logged in (a fresh one if the last test left it otherwise). */
async function loggedIn(vm: TelnetGuest): Promise<SerialConsole> {
  const shell = current && !current.isClosed && current.isLoggedIn ? current : await attach(vm);
  if (!shell.isLoggedIn) await shell.login({ timeoutMs: BOOT_TIMEOUT_MS });
  return shell;
}

printTranscriptOnFailure(() => current);

afterAll(() => {
  current?.destroy();
});

describe("serial console over telnet (real guest)", { timeout: FIRST_TEST_TIMEOUT_MS }, () => {
  test("logs in from a login prompt it has to ask for (late connection, nothing shown)", async ({
    telnetGuest: vm,
  }) => {
    const fresh = await attach(vm);
    await fresh.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(fresh.isLoggedIn).toBe(true);
    // Telnet negotiation was answered and stripped; a bare newline provoked the prompt.
    expect(raw()).toContain("login: ");
    expect(fresh.transcript()).not.toContain("\xff");
    // Never the password, even though the guest's tty may echo it (busybox login prints
    // its prompt before it turns echo off): the raw stream is the proof of that race.
    expect(fresh.transcript()).not.toContain(vm.password);
  });

  test("finds an already logged-in shell after reconnecting, and checks it is this VM", async ({
    telnetGuest: vm,
  }) => {
    await loggedIn(vm);
    const again = await attach(vm);
    await again.login({ timeoutMs: 60_000 });
    expect(again.isLoggedIn).toBe(true);
    expect(again.transcript()).not.toContain("Password");
    // Another VM's identity: refused.
    const wrong = await attach(vm, {
      guestIdentity: dmiProductUuid("00000000-0000-4000-8000-000000000000"),
    });
    const error = await rejection(wrong.login({ timeoutMs: 60_000 }));
    expect(error.code).toBe("ERR_CONSOLE_NOT_GUEST");
    expect(error.message).toContain(vm.uuid);
    expect(wrong.isLoggedIn).toBe(false);
  });

  test(CONTRACT, async ({ telnetGuest }) => {
    await controlChannelContract(await attach(telnetGuest));
  });

  test("returns 100,000 lines of output exactly", async ({ telnetGuest: vm }) => {
    const shell = await loggedIn(vm);
    const result = await shell.run("seq 1 100000", { timeoutMs: 150_000 });
    expect(result.exitCode).toBe(0);
    const expected = `${Array.from({ length: 100_000 }, (_, index) => index + 1).join("\n")}\n`;
    expect(result.output.length).toBe(expected.length);
    expect(result.output === expected).toBe(true);
  });

  test("returns output that looks like prompts, logins and markers, and raw bytes, unchanged", async ({
    telnetGuest: vm,
  }) => {
    const shell = await loggedIn(vm);
    const lines = [
      "root@guest:~# ",
      "guest login: ",
      "Password: ",
      "QKS:0123456789abcdef:0",
      "QKE:0123456789abcdef",
      "QKR:0123456789abcdef",
      "__qk 0123456789abcdef /tmp/x 1",
      "[    1.000000] not a kernel message: command output",
      "# ",
    ];
    const command = `printf '%s\\n' ${lines.map((line) => `'${line}'`).join(" ")}; printf 'no newline # '`;
    const result = await shell.run(command);
    expect(result).toMatchObject({ exitCode: 0, output: `${lines.join("\n")}\nno newline # ` });
    const bytes = await shell.run("printf '\\377\\000\\033[6n\\r\\n'");
    expect([...bytes.outputBytes]).toEqual([0xff, 0x00, 0x1b, 0x5b, 0x36, 0x6e, 0x0d, 0x0a]);
  });

  test("interrupts a command that never ends, and the console is usable after", async ({
    telnetGuest: vm,
  }) => {
    const shell = await loggedIn(vm);
    const sleeping = await rejection(shell.run("sleep 100000", { timeoutMs: 3_000 }));
    expect(sleeping.code).toBe("ERR_TIMEOUT");
    // A command that keeps the CPU busy, in a child process: Ctrl-C in the login shell
    // itself (a loop of builtins) can hang busybox ash for good (see the README).
    const spinning = await rejection(
      shell.run("sh -c 'while :; do :; done'", { timeoutMs: 3_000 }),
    );
    expect(spinning.code).toBe("ERR_TIMEOUT");
    const controller = new AbortController();
    const reading = shell.run("sleep 100001", { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("enough")), 1_000);
    expect((await rejection(reading)).code).toBe("ERR_ABORTED");
    expect(await shell.run("echo after")).toMatchObject({ exitCode: 0, output: "after\n" });
    // Interrupted, not left running.
    const left = await shell.run(
      "ps -o args | grep -c -E '^(sleep 10000[01]|sh -c while :; do :; done)$'",
    );
    expect(left.output).toBe("0\n");
  });

  test("keeps kernel messages printed during a transfer out of the output", async ({
    telnetGuest: vm,
  }) => {
    const shell = await attach(vm, { transcriptSize: 8 * 1024 * 1024 });
    await shell.login({ timeoutMs: 60_000 });
    const rawBefore = raw().length;
    // Console loglevel up (the guest boots with dmesg -n 1), then a burst of kernel
    // messages from the background while the output (about 190 KB) is on the console.
    const command =
      "dmesg -n 8; (i=0; while [ $i -lt 25 ]; do echo KMSG-$i > /dev/kmsg; i=$((i+1)); usleep 150000; done; dmesg -n 1) >/dev/null 2>&1 & seq 1 30000";
    const result = await shell.run(command, { timeoutMs: 120_000 });
    expect(result.exitCode).toBe(0);
    expect(
      result.output === `${Array.from({ length: 30_000 }, (_, i) => i + 1).join("\n")}\n`,
    ).toBe(true);
    expect(result.output).not.toContain("KMSG");
    const printed =
      raw()
        .slice(rawBefore)
        .match(/\[ *\d+\.\d{6}\] KMSG-\d+/g) ?? [];
    expect(printed.length).toBeGreaterThan(0);
    // At least one landed inside the transfer and was cut out of it.
    expect(shell.transcript()).toMatch(
      /kernel message cut out of the output: \[ *\d+\.\d{6}\] KMSG-\d+/,
    );
    await shell.run("wait"); // the background job, before the next test
  });
});
