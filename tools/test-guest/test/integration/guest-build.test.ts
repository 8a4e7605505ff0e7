/**
 * The guest build delivers what tests rely on, on both NIC models: serial login
 * as root, 10.0.2.15 from QEMU's DHCP, the guest agent answering through its
 * socket, SSH through hostfwd (key and password), DMI vendor QEMU, and a clean
 * power-off (from the console, and through the agent's guest-shutdown).
 * Each wait has its own deadline; nothing sleeps a fixed time.
 */
import { freePort, makeTempDir, type TempDir } from "@qemu-kvm/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ensureGuest,
  type GuestMachine,
  type GuestNic,
  type LaunchedGuest,
  launchGuest,
  type TestGuest,
} from "../../src/index.js";
import { guestAgentRequest, guestPing } from "../helpers/guest-agent.js";
import { waitForAddress } from "../helpers/guest-checks.js";
import { SerialSession } from "../helpers/serial-session.js";
import { sshRun } from "../helpers/ssh.js";

let guest: TestGuest;
beforeAll(async () => {
  guest = await ensureGuest();
}, 1_200_000);

const configurations: Array<{
  machine: GuestMachine;
  nic: GuestNic;
  ending: "poweroff" | "guest-shutdown";
}> = [
  { machine: "q35", nic: "virtio-net-pci", ending: "poweroff" },
  { machine: "q35", nic: "e1000", ending: "guest-shutdown" },
  { machine: "pc", nic: "e1000", ending: "poweroff" },
];

describe.each(configurations)("the guest on $machine with $nic", ({ machine, nic, ending }) => {
  let vm: LaunchedGuest | undefined;
  let session: SerialSession;
  let sshPort: number;
  let scratch: TempDir | undefined;

  // One booted guest (and its logged-in console) per configuration, shared by the
  // describe's tests in order: vitest fixtures are per test or per file, not per describe.
  beforeAll(async () => {
    scratch = await makeTempDir("qk-tg-");
    sshPort = await freePort();
    vm = await launchGuest(guest, {
      machine: { type: machine },
      nic,
      guestAgent: true,
      hostForwards: [{ hostPort: sshPort, guestPort: 22 }],
    });
    session = new SerialSession(vm);
  }, 60_000);

  afterAll(async () => {
    await vm?.stop();
    await scratch?.remove();
  });

  test("serial console: login:, Password:, then a root shell prompt ending in '# '", async () => {
    const { user, password, loginPrompt, passwordPrompt, shellPromptSuffix } = guest.credentials;
    expect([user, loginPrompt, passwordPrompt, shellPromptSuffix]).toEqual([
      "root",
      "login:",
      "Password:",
      "# ",
    ]);
    expect(password.length).toBeGreaterThan(0);
    await session.login(guest.credentials, 60_000);
    // busybox's line editor follows the prompt with a cursor query, ESC[6n. (The
    // password may be echoed: login turns echo off only after printing its prompt.)
    expect(vm!.output()).toMatch(
      /login: root\r?\n[\s\S]*Password: [\s\S]*root@guest:~# (\x1b\[6n)?$/,
    );
    const { exitCode, output } = await session.run("id -u; echo $0");
    expect(exitCode).toBe(0);
    expect(output.trim().split("\n")).toEqual(["0", "-sh"]);
  });

  test("DHCP from QEMU's user network gives 10.0.2.15/24", async () => {
    const addresses = await waitForAddress(session, "eth0", 60_000);
    expect(addresses).toMatch(/inet 10\.0\.2\.15\/24 /);
    const route = await session.run("ip route show default");
    expect(route.output).toContain("default via 10.0.2.2 dev eth0");
    const driver = await session.run("basename $(readlink /sys/class/net/eth0/device/driver)");
    expect(driver.output.trim()).toBe(nic === "e1000" ? "e1000" : "virtio_net");
  });

  test("/sys/class/dmi/id/sys_vendor reads QEMU", async () => {
    const { exitCode, output } = await session.run("cat /sys/class/dmi/id/sys_vendor");
    expect(exitCode).toBe(0);
    expect(output.trim()).toBe("QEMU");
  });

  test("the guest agent answers guest-ping through its unix socket", async () => {
    expect(await guestPing(vm!.guestAgentPath!, { timeoutMs: 60_000 })).toEqual({});
  });

  test("SSH through hostfwd with the test key runs a command", async () => {
    const output = await sshRun(
      { port: sshPort, user: "root", privateKeyPath: guest.sshPrivateKeyPath },
      "echo ssh-ok; id -u; cat /sys/class/dmi/id/sys_vendor",
      { timeoutMs: 60_000 },
    );
    expect(output.split("\n")).toEqual(["ssh-ok", "0", "QEMU", ""]);
  });

  test("SSH with the root password runs a command", async () => {
    const output = await sshRun(
      {
        port: sshPort,
        user: "root",
        password: { value: guest.credentials.password, directory: scratch!.path },
      },
      "echo password-ok",
      { timeoutMs: 60_000 },
    );
    expect(output).toBe("password-ok\n");
  });

  test("a wrong password is refused", async () => {
    // Checked through SSH so the console session stays logged in.
    await expect(
      sshRun(
        { port: sshPort, user: "root", password: { value: "wrong", directory: scratch!.path } },
        "true",
        { timeoutMs: 30_000 },
      ),
    ).rejects.toThrow(/Permission denied/);
  });

  if (ending === "poweroff")
    test("poweroff on the console makes QEMU exit (code 0)", async () => {
      session.write("poweroff\n");
      const exit = await withDeadline(vm!.exited, 30_000, "QEMU did not exit after poweroff");
      expect(exit).toEqual({ code: 0, signal: null });
    });
  else
    test("the agent's guest-shutdown powers the guest off and QEMU exits (code 0)", async () => {
      await guestAgentRequest(vm!.guestAgentPath!, "guest-shutdown", {
        noReply: true,
        timeoutMs: 30_000,
      });
      const exit = await withDeadline(vm!.exited, 30_000, "QEMU did not exit after guest-shutdown");
      expect(exit).toEqual({ code: 0, signal: null });
    });
});

function withDeadline<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
