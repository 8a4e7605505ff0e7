import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { type LaunchedGuest, launchGuest } from "@qemu-kvm/test-guest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dmiProductUuid, type SerialConsole, serialConsole } from "../../src/index.js";
import { controlChannelContract } from "./contract.js";
import { printTranscriptOnFailure } from "./diagnostics.js";
import { BOOT_TIMEOUT_MS, recordRaw, testGuest } from "./fixtures.js";

/**
 * One guest for the file, serial console on a unix socket held with wait=on:
 * the console sees the boot from its first byte. The tests run in order and
 * hand the console on (the last one powers the guest off).
 */
const uuid = "6e1c2b8a-4f0d-4c3e-9a57-2d1f0b9c8e71";
/** Small, so that truncation is cheap to see (nothing else here prints this much). */
const MAX_OUTPUT_BYTES = 64 * 1024;
let vm: LaunchedGuest;
let password: string;
let shell: SerialConsole;
let raw: () => string;

function open(socket: Socket): SerialConsole {
  raw = recordRaw(socket);
  shell = serialConsole(socket, {
    password,
    guestIdentity: dmiProductUuid(uuid),
    maxOutputBytes: MAX_OUTPUT_BYTES,
  });
  return shell;
}

beforeAll(async () => {
  const guest = await testGuest();
  password = guest.credentials.password;
  vm = await launchGuest(guest, { extraArgs: ["-uuid", uuid], timeoutMs: BOOT_TIMEOUT_MS });
  open(vm.serial);
});

printTranscriptOnFailure(() => shell);

afterAll(async () => {
  shell?.destroy();
  await vm?.stop();
});

describe("serial console over a unix socket (real guest)", () => {
  it("logs in from a password prompt left half done (our user): one password, no failed attempt", async () => {
    const { end } = await vm.waitForOutput("login: ", { timeoutMs: BOOT_TIMEOUT_MS });
    vm.serial.write("root\n"); // someone typed the user name and walked away
    await vm.waitForOutput("Password: ", { from: end, timeoutMs: 60_000 });
    await shell.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(shell.isLoggedIn).toBe(true);
    expect(shell.transcript().split("«********\\n»")).toHaveLength(2); // the password, once
    expect(raw()).not.toContain("Login incorrect");
    expect(shell.transcript()).not.toContain(password);
  });

  it("logs in after someone else's half-done login, on a fresh connection that sees nothing", async () => {
    const logout = await shell.run("exit").catch((error: unknown) => error);
    expect(logout).toMatchObject({ code: "ERR_CONSOLE_LOGGED_OUT" });
    await shell.expect("login: ", { timeoutMs: 60_000 });
    await shell.sendLine("nobody");
    await shell.expect("Password: ", { timeoutMs: 60_000 });
    shell.destroy(); // hang up; QEMU's server takes the next client
    const socket = createConnection(vm.serialPath);
    await once(socket, "connect");
    const fresh = open(socket);
    await fresh.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(fresh.isLoggedIn).toBe(true);
    expect(raw()).toContain("Login incorrect"); // nobody's attempt, ended with an empty line
    expect(fresh.transcript().split("«********\\n»")).toHaveLength(2);
  });

  controlChannelContract(async () => shell);

  it("keeps a kernel message printed while the command runs out of its output", async () => {
    const before = raw().length;
    const result = await shell.run(
      "dmesg -n 8; echo KMSG-UNIX-1 > /dev/kmsg; echo between; echo KMSG-UNIX-2 > /dev/kmsg; dmesg -n 1; echo done",
    );
    expect(result).toMatchObject({ exitCode: 0, output: "between\ndone\n" });
    expect(raw().slice(before)).toMatch(/\[ *\d+\.\d{6}\] KMSG-UNIX-1\r\n/);
    expect(raw().slice(before)).toMatch(/\[ *\d+\.\d{6}\] KMSG-UNIX-2\r\n/);
  });

  it("delivers long commands, quotes, newlines, tabs and non-ASCII intact", async () => {
    const text = 'it\'s a "test" $HOME `id` ; '.repeat(60); // about 1,900 characters
    const quoted = `'${text.replaceAll("'", "'\\''")}'`;
    expect(await shell.run(`printf '%s' ${quoted}`)).toMatchObject({ exitCode: 0, output: text });
    const multiline = "for i in 1 2; do\n\tprintf '%s\\n' \"café ☕ $i\"\ndone";
    expect(await shell.run(multiline)).toMatchObject({
      exitCode: 0,
      output: "café ☕ 1\ncafé ☕ 2\n",
    });
  });

  it("keeps the shell's state between runs, and reports truncation past maxOutputBytes", async () => {
    await shell.run("cd /sys && export QK_TEST=kept");
    expect(await shell.run('pwd; echo "$QK_TEST"')).toMatchObject({ output: "/sys\nkept\n" });
    const expected = `${Array.from({ length: 20_000 }, (_, index) => index + 1).join("\n")}\n`;
    const big = await shell.run("seq 1 20000", { timeoutMs: 60_000 });
    expect(big.outputTruncated).toBe(true);
    expect(big.output === expected.slice(0, MAX_OUTPUT_BYTES)).toBe(true);
  });

  it("powers the guest off, and QEMU exits", async () => {
    await shell.powerdown({ timeoutMs: 60_000 });
    expect(await vm.exited).toEqual({ code: 0, signal: null });
    expect((await shell.closed).by).toBe("peer");
  });
});
