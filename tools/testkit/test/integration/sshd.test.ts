import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import { test } from "../../src/fixtures.js";
import { isAliveNow, type SshdFixture, startSshd } from "../../src/index.js";

const run = promisify(execFile);

function ssh(sshd: SshdFixture, ...command: string[]) {
  return run("ssh", [...sshd.sshArgs(), ...command], { encoding: "utf8" });
}

test("the OpenSSH client logs in with the fixture's key and verifies its host key", async ({
  sshd,
}) => {
  const { stdout } = await ssh(sshd, "echo", "hello");
  expect(stdout).toBe("hello\n");
  expect(sshd.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  const { stdout: listed } = await run("ssh-keygen", ["-l", "-f", sshd.knownHostsPath]);
  expect(listed).toContain(sshd.hostKeyFingerprint);
  expect(sshd.knownHostsLine.startsWith(`[127.0.0.1]:${sshd.port} ssh-ed25519 `)).toBe(true);
});

test("stop() drops live connections and kills their commands; restart() keeps port and host key", async ({
  sshd,
}) => {
  // A session whose command prints its pid, then waits.
  const client = spawn("ssh", [...sshd.sshArgs(), "echo $$; exec sleep 1000"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    client.stdout.setEncoding("utf8");
    const [line] = (await once(client.stdout, "data")) as [string];
    const remotePid = Number(line.trim());
    expect(isAliveNow(remotePid)).toBe(true);
    const port = sshd.port;
    const exited = once(client, "exit");
    await sshd.stop();
    expect(sshd.pid).toBeUndefined();
    const [code] = (await exited) as [number | null];
    expect(code).toBe(255); // the OpenSSH client's "connection lost"
    expect(isAliveNow(remotePid)).toBe(false);
    await expect(ssh(sshd, "true")).rejects.toThrow();
    await sshd.restart();
    expect(sshd.port).toBe(port);
    // StrictHostKeyChecking=yes against the same known_hosts: the host key is unchanged.
    expect((await ssh(sshd, "echo", "again")).stdout).toBe("again\n");
  } finally {
    client.kill("SIGKILL");
  }
});

test("close() removes the directory; a password can be enabled, and a wrong one is refused", async ({
  sshd,
}) => {
  const other = await startSshd({ passwordAuthentication: true });
  try {
    expect(other.port).not.toBe(sshd.port);
    const attempt = run(
      "ssh",
      [
        "-p",
        String(other.port),
        "-o",
        `UserKnownHostsFile=${other.knownHostsPath}`,
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password",
        "-o",
        "NumberOfPasswordPrompts=1",
        "-o",
        "BatchMode=yes",
        "-F",
        "none",
        `${other.user}@127.0.0.1`,
        "true",
      ],
      { encoding: "utf8" },
    );
    // BatchMode cannot type a password: the server offered it, the client gave up.
    await expect(attempt).rejects.toMatchObject({ stderr: expect.stringMatching(/password/) });
  } finally {
    await other.close();
  }
  expect(existsSync(other.dir)).toBe(false);
});

test("config lines override the fixture's own settings (sshd keeps a keyword's first value)", async () => {
  const limited = await startSshd({ config: ["MaxSessions 2"] });
  try {
    const { stdout } = await run(
      "sshd",
      [
        "-T",
        "-f",
        join(limited.dir, "sshd_config"),
        "-C",
        "user=root,host=localhost,addr=127.0.0.1",
      ],
      { encoding: "utf8" },
    );
    expect(stdout).toMatch(/^maxsessions 2$/m);
  } finally {
    await limited.close();
  }
});

test("sessions run with this process's PATH (as the QEMU matrix needs), spaces and all; sessionEnv wins", async () => {
  const original = process.env.PATH;
  process.env.PATH = `/opt/qk matrix #1/bin:${original}`;
  let inherited: SshdFixture | undefined;
  let overridden: SshdFixture | undefined;
  try {
    inherited = await startSshd();
    overridden = await startSshd({ sessionEnv: { PATH: "/usr/bin:/bin", QK_X: "a b" } });
  } finally {
    process.env.PATH = original;
  }
  try {
    const script = 'printf "%s|%s|%s" "$PATH" "$QK_X" "$SHLVL"';
    expect((await ssh(inherited, script)).stdout).toBe(`/opt/qk matrix #1/bin:${original}||2`);
    expect((await ssh(overridden, script)).stdout).toBe("/usr/bin:/bin|a b|2");
    await expect(startSshd({ sessionEnv: { X: 'say "hi"' } })).rejects.toThrow(
      /values without quotes/,
    );
  } finally {
    await inherited.close();
    await overridden.close();
  }
});
