import { describe, expect } from "vitest";
import { PASSWORD, test } from "../helpers/console-setup.js";
import { FakeShell } from "../helpers/fake-shell.js";
import { rejection } from "../helpers/rejection.js";

describe("login", () => {
  test("logs in from a login prompt shown at once", async ({ consoles }) => {
    const { peer, console } = consoles.setUp({ greet: true });
    await console.login();
    expect(console.isLoggedIn).toBe(true);
    expect(peer.state).toBe("shell");
    // The password was typed, but never shows in the transcript.
    expect(peer.allWritten).toContain(`${PASSWORD}\n`);
    expect(console.transcript()).not.toContain(PASSWORD);
    expect(console.transcript()).toContain("«********\\n»");
    console.destroy();
  });

  test("sends a newline to an idle console (a late connection), then logs in", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp();
    await console.login();
    expect(peer.written[0]).toBe("\n");
    expect(console.isLoggedIn).toBe(true);
    console.destroy();
  });

  test("finishes a half-done login of its own user, and ends someone else's", async ({
    consoles,
  }) => {
    const own = consoles.setUp({ greet: true });
    await own.console.expect("login: ");
    await own.console.write("root\n"); // someone typed the user name and walked away
    await own.console.expect("Password: ");
    own.peer.send("guest login: root\r\nPassword: "); // as a logfile replay would show it
    await own.console.login();
    expect(own.console.isLoggedIn).toBe(true);
    expect(own.peer.allWritten.split("\n").filter((line) => line === "root")).toHaveLength(1);
    own.console.destroy();

    const other = consoles.setUp({ greet: true });
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

  test("finds a shell already logged in, checks it with a marker, and the guest identity", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({ state: "shell" });
    peer.send("root@guest:~# \x1b[6n");
    await console.login();
    expect(console.isLoggedIn).toBe(true);
    // The default identity is a file's first line, read by the shell itself: no command runs.
    expect(peer.identityReads).toEqual(["/sys/class/dmi/id/sys_vendor"]);
    expect(peer.commandsRun).toEqual([]);
    console.destroy();
  });

  test("an identity file that names another machine is refused, with what it read", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({ state: "shell", dmiVendor: "LENOVO" });
    peer.send("root@guest:~# \x1b[6n");
    const error = await rejection(console.login());
    expect(error).toMatchObject({ code: "ERR_CONSOLE_NOT_GUEST", output: "LENOVO", exitCode: 0 });
    console.destroy();
  });

  test("from the shell prompt, a login costs one line and one reply: shell check and identity, nothing set up", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({ state: "shell" });
    peer.send("root@guest:~# \x1b[6n");
    await console.login();
    expect(console.isLoggedIn).toBe(true);
    // One line typed (besides a bare newline, the nudge of a console that showed nothing yet).
    const lines = peer.allWritten.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(150); // builtins only: no function, no mkdir
    expect(peer.identityReads).toEqual(["/sys/class/dmi/id/sys_vendor"]);
    expect(peer.functionDefined).toBe(false);
    expect(peer.directories.size).toBe(0);
    expect((await console.run("echo")).exitCode).toBe(127); // and it runs commands
    expect(peer.functionDefined).toBe(true);
    expect(peer.directories.size).toBe(1);
    console.destroy();
  });

  test("an identity command too long for the login line runs after it, and still decides", async ({
    consoles,
  }) => {
    const long = `cat /sys/class/dmi/id/sys_vendor ${"/dev/null ".repeat(100)}`;
    const commands = (command: string) =>
      command === long ? { exitCode: 0, output: "LENOVO\n" } : { exitCode: 127 };
    const { peer, console } = consoles.setUp(
      { state: "shell", commands },
      {
        guestIdentity: {
          description: "a long check",
          command: long,
          accepts: (output) => output === "QEMU",
        },
      },
    );
    peer.send("root@guest:~# \x1b[6n");
    const error = await rejection(console.login());
    expect(error).toMatchObject({ code: "ERR_CONSOLE_NOT_GUEST", output: "LENOVO" });
    expect(peer.commandsRun).toEqual([long]);
    console.destroy();
  });

  test("without an identity check, the one line is a marker alone", async ({ consoles }) => {
    const { peer, console } = consoles.setUp({ state: "shell" }, { guestIdentity: false });
    peer.send("root@guest:~# \x1b[6n");
    await console.login();
    expect(console.isLoggedIn).toBe(true);
    expect(peer.commandsRun).toEqual([]);
    expect(peer.directories.size).toBe(0);
    expect(peer.allWritten.split("\n").filter(Boolean)).toEqual([
      expect.stringMatching(/^printf '%s:%s\\n' QKR [0-9a-f]{16}$/),
    ]);
    console.destroy();
  });

  test("an identity command without a file sets the shell up on the login line, and runs there", async ({
    consoles,
  }) => {
    const check = "cat /proc/sys/kernel/hostname";
    const commands = (command: string) =>
      command === check ? { exitCode: 0, output: "guest\n" } : { exitCode: 0 };
    const { peer, console } = consoles.setUp(
      { state: "shell", commands },
      {
        guestIdentity: {
          description: "host name",
          command: check,
          accepts: (output) => output === "guest",
        },
      },
    );
    peer.send("root@guest:~# \x1b[6n");
    await console.login();
    expect(peer.allWritten.split("\n").filter(Boolean)).toHaveLength(1);
    expect(peer.commandsRun).toEqual([check]);
    expect(peer.directories.size).toBe(1);
    await console.run("true"); // set up already: no second definition
    expect(peer.functionDefinitions).toBe(1);
    console.destroy();
  });

  test("refuses a shell that fails the identity check (ERR_CONSOLE_NOT_GUEST)", async ({
    consoles,
  }) => {
    const { console } = consoles.setUp({ state: "shell", dmiVendor: "LENOVO" });
    const error = await rejection(console.login());
    expect(error.code).toBe("ERR_CONSOLE_NOT_GUEST");
    expect(error.message).toContain("LENOVO");
    expect(console.isLoggedIn).toBe(false);
    expect((await rejection(console.run("true"))).code).toBe("ERR_CONSOLE_NOT_LOGGED_IN");
    console.destroy();
  });

  test("each login has its own private directory for output, made by its first run, removed at logout, or by the next set-up", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn(() => ({ exitCode: 0 }));
    await console.run("true");
    const [first] = [...peer.directories];
    expect(first).toMatch(/^\/tmp\/\.qk-[0-9a-f]{12}$/);
    await console.login(); // again, without logging out: the first directory waits…
    expect([...peer.directories]).toEqual([first]);
    await console.run("true"); // …for the next set-up, which removes it on its line
    expect(peer.directories.size).toBe(1);
    expect(peer.directories.has(first!)).toBe(false);
    const [second] = [...peer.directories];
    await console.login(); // and once more, with no run before the logout
    await console.logout();
    expect(peer.directories.size).toBe(0);
    expect(peer.allWritten).toContain(`rm -rf ${second}; exit\n`);
    // A login whose shell ran nothing has nothing to remove.
    const mark = peer.allWritten.length;
    await console.login();
    await console.logout();
    expect(peer.allWritten.slice(mark)).not.toContain("rm -rf");
    expect(peer.allWritten.endsWith("\nexit\n")).toBe(true);
    console.destroy();
  });

  test("a scratch directory where nothing can be made: the login passes, the first run fails (ERR_CONSOLE_SCRATCH) and the next tries again", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn(
      () => ({ exitCode: 0, output: "ran\n" }),
      { readOnlyScratch: true },
      { scratchDirectory: "/ro" },
    );
    expect(console.isLoggedIn).toBe(true);
    const error = await rejection(console.run("echo ran"));
    expect(error).toMatchObject({ code: "ERR_CONSOLE_SCRATCH", directory: "/ro" });
    expect(peer.commandsRun).toEqual([]); // nothing ran
    expect(console.isLoggedIn).toBe(true);
    peer.readOnlyScratch = false; // made writable
    expect(await console.run("echo ran")).toMatchObject({ exitCode: 0, output: "ran\n" });
    expect(peer.directories.size).toBe(1);
    console.destroy();
  });

  test("an identity command without a file fails the login when the scratch directory cannot be made", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp(
      { state: "shell", readOnlyScratch: true },
      {
        scratchDirectory: "/ro",
        guestIdentity: { description: "any", command: "true", accepts: () => true },
      },
    );
    peer.send("root@guest:~# \x1b[6n");
    const error = await rejection(console.login());
    expect(error).toMatchObject({ code: "ERR_CONSOLE_SCRATCH", directory: "/ro" });
    expect(console.isLoggedIn).toBe(false);
    expect(peer.commandsRun).toEqual([]); // not even the identity check ran
    console.destroy();
  });

  test("reports a wrong password (ERR_CONSOLE_LOGIN) without showing it", async ({ consoles }) => {
    const peer = new FakeShell({ password: "right", greet: true });
    const console = consoles.open(peer, { password: "wrong-password", nudgeIntervalMs: 200 });
    const error = await rejection(console.login());
    expect(error.code).toBe("ERR_CONSOLE_LOGIN");
    expect(error.transcript).not.toContain("wrong-password");
    expect(error.message).not.toContain("wrong-password");
    console.destroy();
  });

  test("sees prompts through kernel messages printed in their middle", async ({ consoles }) => {
    const peer = new FakeShell({ password: PASSWORD, chunkSize: 3 });
    const console = consoles.open(peer, { password: PASSWORD, nudgeIntervalMs: 60_000 });
    peer.send("guest lo[    5.123456] e1000: eth0 NIC Link is Up\r\ngin: ");
    await console.login({ timeoutMs: 10_000 });
    expect(console.isLoggedIn).toBe(true);
    console.destroy();
  });
});
