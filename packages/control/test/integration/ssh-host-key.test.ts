import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect } from "vitest";
import {
  connectGuestAgent,
  createSerialConsole,
  type GuestAgentClient,
  parseSshHostKey,
  type SerialConsole,
} from "../../src/index.js";
import {
  BOOT_TIMEOUT_MS,
  connectAgentSocket,
  FIRST_TEST_TIMEOUT_MS,
  test,
} from "../helpers/guests.js";
import { printTranscriptOnFailure } from "../helpers/transcript-on-failure.js";

/**
 * Reading the guest's SSH host key through a control channel, to pin it: one
 * guest for the file (the `sshGuest` fixture) with the agent, the console and
 * dropbear on a forwarded loopback port. `ssh-keyscan` (OpenSSH) shows what the
 * server presents in the handshake.
 */
const KEY_FILE = "/etc/dropbear/dropbear_ed25519_host_key";

let shell: SerialConsole | undefined;
let agent: GuestAgentClient | undefined;

printTranscriptOnFailure(() => shell);

afterAll(() => {
  shell?.destroy();
  agent?.destroy();
});

/** `ALGORITHM BASE64` of the key the SSH server on `port` presents. */
async function keyscan(port: number, type: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    "ssh-keyscan",
    ["-T", "60", "-t", type, "-p", String(port), "127.0.0.1"],
    { timeout: 90_000 },
  );
  const line = stdout.split("\n").find((text) => text.includes(` ${type} `));
  if (!line) throw new Error(`ssh-keyscan printed no ${type} key: ${JSON.stringify(stdout)}`);
  return line.split(" ").slice(1, 3).join(" ");
}

describe("the guest's SSH host key, read through the agent and the console (real guest)", {
  timeout: FIRST_TEST_TIMEOUT_MS,
}, () => {
  test("readFile of a small text file through the agent is what the console's cat prints", async ({
    sshGuest,
  }) => {
    const { vm, password } = sshGuest;
    shell = createSerialConsole(vm.serial, { password });
    await shell.login({ timeoutMs: BOOT_TIMEOUT_MS });
    agent = await connectGuestAgent(await connectAgentSocket(vm), { timeoutMs: BOOT_TIMEOUT_MS });
    // The guest stamps each service in /run/boot.log; dropbear's line once it listens,
    // the NIC's once DHCP is done (in the background: before or after dropbear's, the last line).
    const started = await shell.run(
      "until grep -q 'dropbear started' /run/boot.log && grep -q 'eth0 has ' /run/boot.log; do usleep 20000; done",
      { timeoutMs: 60_000 },
    );
    expect(started.exitCode).toBe(0);
    const text = (await agent.readFile("/run/boot.log")).toString("utf8");
    expect(text).toMatch(/^\[[\d.]+\] services\n/);
    expect(text).toContain("dropbear started");
    expect((await shell.run("cat /run/boot.log")).output).toBe(text);
  });

  test("the dropbear host key read through the agent (or the console) is the key SSH presents", async ({
    sshGuest,
  }) => {
    const { sshPort } = sshGuest;
    // Dropbear runs with -R: it makes a host key at the first key exchange that needs it.
    await shell!.waitForNetwork({ address: "10.0.2.15", timeoutMs: 60_000 });
    const presented = await keyscan(sshPort, "ssh-ed25519");
    const file = await agent!.readFile(KEY_FILE);
    const key = parseSshHostKey(file);
    expect(key.text).toBe(presented);
    expect(key.algorithm).toBe("ssh-ed25519");
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    // The console carries the same bytes (root-only file, binary).
    const catted = await shell!.run(`cat ${KEY_FILE}`);
    expect(catted.exitCode).toBe(0);
    expect(catted.outputBytes.equals(file)).toBe(true);
  });
});
