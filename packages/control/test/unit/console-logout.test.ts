import { describe, expect } from "vitest";
import { test } from "../helpers/console-setup.js";
import { rejection } from "../helpers/rejection.js";

const invalid = (field: string) => expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field });
const echo = (command: string) => ({ exitCode: 0, output: `${command}\n` });

describe("serial console: logging out", () => {
  test("close() of a console that logged in types exit, waits for the login prompt, then closes", async ({
    consoles,
  }) => {
    const { peer, console } = consoles.setUp({ greet: true, slowLoginPrompt: 3 });
    await console.login();
    expect(peer.state).toBe("shell");
    await console.close();
    expect(peer.logouts).toBe(1);
    expect(peer.state).toBe("login");
    expect(peer.allWritten.endsWith("exit\n")).toBe(true);
    expect(console.isLoggedIn).toBe(false);
    expect(await console.closed).toEqual({ by: "client" });
    expect(console.transcript()).toMatch(/\[console: logged out\]/);
  });

  test("a console that found a shell already logged in logs it out too: it holds it now", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn(echo); // the fake starts at a shell
    await console.run("true");
    await console.close();
    expect(peer.logouts).toBe(1);
    expect(peer.state).toBe("login");
    // The session's private directory is removed on the same line.
    expect(peer.allWritten).toMatch(/rm -rf \/tmp\/\.qk-[0-9a-f]{12}; exit\n$/);
  });

  test("close({ logout: false }) leaves the shell logged in (the output file removed); destroy() never logs out", async ({
    consoles,
  }) => {
    const kept = await consoles.loggedIn(echo);
    await kept.console.run("true");
    await kept.console.close({ logout: false });
    expect(kept.peer.logouts).toBe(0);
    expect(kept.peer.state).toBe("shell");
    expect(kept.peer.allWritten).toMatch(/rm -rf \/tmp\/\.qk-[0-9a-f]{12}; printf/);

    const destroyed = await consoles.loggedIn(echo);
    const before = destroyed.peer.allWritten.length;
    destroyed.console.destroy();
    expect(await destroyed.console.closed).toEqual({ by: "client" });
    expect(destroyed.peer.allWritten.length).toBe(before);
    expect(destroyed.peer.state).toBe("shell");
  });

  test("close() of a console that never logged in, or whose shell failed the identity check, types nothing", async ({
    consoles,
  }) => {
    const idle = consoles.setUp({ greet: true });
    await idle.console.close();
    expect(idle.peer.allWritten).toBe("");

    // Not the guest (as far as the console can tell): none of its business.
    const other = consoles.setUp({ state: "shell", dmiVendor: "Dell Inc." });
    const refused = await rejection(other.console.login());
    expect(refused.code).toBe("ERR_CONSOLE_NOT_GUEST");
    const before = other.peer.allWritten.length;
    await other.console.close();
    expect(other.peer.allWritten.length).toBe(before);
    expect(other.peer.logouts).toBe(0);
  });

  test("close() is bounded by logoutTimeoutMs when no login prompt comes (a nested shell), and closes anyway", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn(
      echo,
      { nestedShell: true },
      { logoutTimeoutMs: 100 },
    );
    await console.close();
    expect(peer.logouts).toBe(1); // one exit only: a second one could land at a login prompt
    expect(peer.destroyed).toBe(true);
    expect(console.transcript()).toContain(
      "[console: closing without logging out: no login prompt within 100 ms]",
    );
  });

  test("close() after the shell exited, or after powerdown(), does not type exit", async ({
    consoles,
  }) => {
    const exited = await consoles.loggedIn((command) =>
      command === "exit" ? "exit" : echo(command),
    );
    expect((await rejection(exited.console.run("exit"))).code).toBe("ERR_CONSOLE_LOGGED_OUT");
    await exited.console.close();
    expect(exited.peer.logouts).toBe(0);

    const off = await consoles.loggedIn(echo);
    await off.console.powerdown();
    await off.console.close();
    expect(off.peer.logouts).toBe(0);
  });

  test("logout(): logs out and a later login() logs in again; resolves at once when not logged in", async ({
    consoles,
  }) => {
    const { peer, console } = await consoles.loggedIn(echo);
    await console.logout();
    expect(console.isLoggedIn).toBe(false);
    expect(peer.state).toBe("login");
    expect((await rejection(console.run("true"))).code).toBe("ERR_CONSOLE_NOT_LOGGED_IN");
    const written = peer.allWritten.length;
    await console.logout(); // nothing to do
    expect(peer.allWritten.length).toBe(written);
    expect(console.buffer).toMatch(/guest login: $/); // left for the next login()
    await console.login();
    expect(peer.allWritten.slice(written).startsWith("root\n")).toBe(true); // no nudge needed
    expect(await console.run("again")).toMatchObject({ exitCode: 0, output: "again\n" });
  });

  test("logout() without a login prompt rejects with ERR_TIMEOUT and the console no longer counts as logged in", async ({
    consoles,
  }) => {
    const { console } = await consoles.loggedIn(echo, { nestedShell: true });
    const error = await rejection(console.logout({ timeoutMs: 50 }));
    expect(error.code).toBe("ERR_TIMEOUT");
    expect(error.transcript).toContain("«exit\\n»"); // nothing ran: no directory to remove
    expect(console.isLoggedIn).toBe(false);
  });

  test("close() and logout() options are checked", async ({ consoles }) => {
    const { console } = consoles.setUp();
    expect(() => console.close({ logout: "no" as never })).toThrow(invalid("options.logout"));
    expect(() => console.close({ logOut: false } as never)).toThrow(invalid("options.logOut"));
    expect(() => console.logout({ timeoutMs: -1 })).toThrow(invalid("options.timeoutMs"));
    expect(() => consoles.setUp({}, { logoutTimeoutMs: Number.NaN })).toThrow(
      invalid("options.logoutTimeoutMs"),
    );
  });
});
