import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { afterAll, describe, expect } from "vitest";
import { createSerialConsole, dmiProductUuid, type SerialConsole } from "../../src/index.js";
import { CONTRACT, controlChannelContract } from "../helpers/contract.js";
import {
  BOOT_TIMEOUT_MS,
  FIRST_TEST_TIMEOUT_MS,
  recordRaw,
  test,
  type UnixGuest,
} from "../helpers/guests.js";
import { printTranscriptOnFailure } from "../helpers/transcript-on-failure.js";

/**
 * One guest for the file (the `unixGuest` fixture), serial console on a unix
 * socket held with wait=on: the console sees the boot from its first byte.
 * The tests run in order and hand the console on (the last one powers the
 * guest off).
 */
/** Small, so that truncation is cheap to see (nothing else here prints this much). */
const MAX_OUTPUT_BYTES = 64 * 1024;
let shell: SerialConsole | undefined;
let raw: () => string;

function open(guest: UnixGuest, socket: Socket): SerialConsole {
  raw = recordRaw(socket);
  shell = createSerialConsole(socket, {
    password: guest.password,
    guestIdentity: dmiProductUuid(guest.uuid),
    maxOutputBytes: MAX_OUTPUT_BYTES,
  });
  return shell;
}

/** The file's console: on the guest's own serial connection until a test opens another. */
function current(guest: UnixGuest): SerialConsole {
  return shell ?? open(guest, guest.vm.serial);
}

printTranscriptOnFailure(() => shell);

afterAll(() => {
  shell?.destroy();
});

/** The file's console, logged in (from wherever the last test left it). */
async function loggedIn(guest: UnixGuest): Promise<SerialConsole> {
  const console = current(guest);
  if (!console.isLoggedIn) await console.login({ timeoutMs: BOOT_TIMEOUT_MS });
  return console;
}

describe("serial console over a unix socket (real guest)", {
  timeout: FIRST_TEST_TIMEOUT_MS,
}, () => {
  test("logs in from a password prompt left half done (our user): one password, no failed attempt", async ({
    unixGuest,
  }) => {
    const { vm, password } = unixGuest;
    const shell = current(unixGuest);
    const { end } = await vm.waitForOutput("login: ", { timeoutMs: BOOT_TIMEOUT_MS });
    vm.serial.write("root\n"); // someone typed the user name and walked away
    await vm.waitForOutput("Password: ", { from: end, timeoutMs: 60_000 });
    await shell.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(shell.isLoggedIn).toBe(true);
    expect(shell.transcript().split("«********\\n»")).toHaveLength(2); // the password, once
    expect(raw()).not.toContain("Login incorrect");
    expect(shell.transcript()).not.toContain(password);
  });

  test("logs in after someone else's half-done login, on a fresh connection that sees nothing", async ({
    unixGuest,
  }) => {
    const shell = current(unixGuest);
    if (!shell.isLoggedIn) await shell.login({ timeoutMs: BOOT_TIMEOUT_MS });
    const logout = await shell.run("exit").catch((error: unknown) => error);
    expect(logout).toMatchObject({ code: "ERR_CONSOLE_LOGGED_OUT" });
    await shell.expect("login: ", { timeoutMs: 60_000 });
    await shell.sendLine("nobody");
    await shell.expect("Password: ", { timeoutMs: 60_000 });
    shell.destroy(); // hang up; QEMU's server takes the next client
    const socket = createConnection(unixGuest.vm.serialPath);
    await once(socket, "connect");
    const fresh = open(unixGuest, socket);
    await fresh.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect(fresh.isLoggedIn).toBe(true);
    expect(raw()).toContain("Login incorrect"); // nobody's attempt, ended with an empty line
    expect(fresh.transcript().split("«********\\n»")).toHaveLength(2);
  });

  test(CONTRACT, async ({ unixGuest }) => {
    await controlChannelContract(current(unixGuest));
  });

  test("keeps a kernel message printed while the command runs out of its output", async ({
    unixGuest,
  }) => {
    const shell = await loggedIn(unixGuest);
    const before = raw().length;
    const result = await shell.run(
      "dmesg -n 8; echo KMSG-UNIX-1 > /dev/kmsg; echo between; echo KMSG-UNIX-2 > /dev/kmsg; dmesg -n 1; echo done",
    );
    expect(result).toMatchObject({ exitCode: 0, output: "between\ndone\n" });
    expect(raw().slice(before)).toMatch(/\[ *\d+\.\d{6}\] KMSG-UNIX-1\r\n/);
    expect(raw().slice(before)).toMatch(/\[ *\d+\.\d{6}\] KMSG-UNIX-2\r\n/);
  });

  test("delivers long commands, quotes, newlines, tabs and non-ASCII intact", async ({
    unixGuest,
  }) => {
    const shell = await loggedIn(unixGuest);
    const text = 'it\'s a "test" $HOME `id` ; '.repeat(60); // about 1,900 characters
    const quoted = `'${text.replaceAll("'", "'\\''")}'`;
    expect(await shell.run(`printf '%s' ${quoted}`)).toMatchObject({ exitCode: 0, output: text });
    const multiline = "for i in 1 2; do\n\tprintf '%s\\n' \"café ☕ $i\"\ndone";
    expect(await shell.run(multiline)).toMatchObject({
      exitCode: 0,
      output: "café ☕ 1\ncafé ☕ 2\n",
    });
  });

  test("keeps the shell's state between runs, and reports truncation past maxOutputBytes", async ({
    unixGuest,
  }) => {
    const shell = await loggedIn(unixGuest);
    await shell.run("cd /sys && export QK_TEST=kept");
    expect(await shell.run('pwd; echo "$QK_TEST"')).toMatchObject({ output: "/sys\nkept\n" });
    const expected = `${Array.from({ length: 20_000 }, (_, index) => index + 1).join("\n")}\n`;
    const big = await shell.run("seq 1 20000", { timeoutMs: 60_000 });
    expect(big.outputTruncated).toBe(true);
    expect(big.output === expected.slice(0, MAX_OUTPUT_BYTES)).toBe(true);
  });

  test("output files stay where another guest user cannot reach them: a symlink planted at the next predictable name is never followed, and the files go at logout", async ({
    unixGuest,
  }) => {
    const shell = await loggedIn(unixGuest);
    // A second guest user to plant as (the test guest has only root), a file of root's for
    // the bait, and no kernel protection against following another user's symlink in /tmp
    // (fs.protected_symlinks is off on many guests).
    const setup = await shell.run(
      "grep -q '^qkplant:' /etc/passwd || echo 'qkplant:x:4242:4242::/tmp:/bin/sh' >> /etc/passwd; " +
        "echo untouched > /root/qk-target; cat /proc/sys/fs/protected_symlinks; echo 0 > /proc/sys/fs/protected_symlinks",
    );
    expect(setup).toMatchObject({ exitCode: 0, output: expect.stringMatching(/^[0-2]\n$/) });
    // Where the next runs write, as predicted from the run lines typed so far.
    const files = [...shell.transcript().matchAll(/\} >(\/\S+) 2>&1 /g)].map((found) => found[1]!);
    const [, stem, count] = /^(.*?)(\d+)$/.exec(files.at(-1)!)!;
    const next = Array.from({ length: 10 }, (_, i) => `${stem}${Number(count) + 1 + i}`);
    await shell.run(
      `for f in ${next.join(" ")}; do su qkplant -s /bin/sh -c "ln -s /root/qk-target $f"; done`,
    );
    expect(await shell.run("echo written by root")).toMatchObject({
      exitCode: 0,
      output: "written by root\n",
    });
    expect((await shell.run("cat /root/qk-target")).output).toBe("untouched\n");
    // The output files are in a directory of root's, mode 0700, made for this login…
    const directory = /^(.*)\/\d+$/.exec(files.at(-1)!)?.[1] ?? "";
    expect((await shell.run(`stat -c '%a %U' ${directory}`)).output).toBe("700 root\n");
    // …and gone once it logs out.
    await shell.logout({ timeoutMs: 60_000 });
    await shell.login({ timeoutMs: BOOT_TIMEOUT_MS });
    expect((await shell.run(`ls -d ${directory} || echo gone`)).output).toMatch(/gone\n$/);
    await shell.run(
      `rm -f /root/qk-target ${next.join(" ")}; sed -i '/^qkplant:/d' /etc/passwd; echo ${setup.output.trim()} > /proc/sys/fs/protected_symlinks`,
    );
  });

  test("powers the guest off, and QEMU exits", async ({ unixGuest }) => {
    const { vm } = unixGuest;
    const shell = await loggedIn(unixGuest);
    await shell.powerdown({ timeoutMs: 60_000 });
    expect(await vm.exited).toEqual({ code: 0, signal: null });
    expect((await shell.closed).by).toBe("peer");
  });
});
