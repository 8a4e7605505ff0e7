/**
 * What only the SSH transport has: a connection that can drop and come back, a
 * server that can hang, authentication and host key verification, and the
 * server's session limit. Against a real sshd (testkit), stopped, frozen and
 * restarted under the client.
 */
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  isAliveNow,
  makeTempDir,
  type SshdFixture,
  startSshd,
  type TempDir,
  waitUntilGone,
} from "@qemu-kvm/testkit";
import ssh2 from "ssh2";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { type SshHost, type SshHostOptions, sshHost } from "../../src/index.js";
import { killRecorded, readPids } from "../helpers.js";

let sshd: SshdFixture;
let temp: TempDir;
const hosts: SshHost[] = [];

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.close();
});
beforeEach(async () => {
  temp = await makeTempDir("qk-ssh-");
});
afterEach(async () => {
  sshd.resume();
  if (sshd.pid === undefined) await sshd.restart();
  for (const host of hosts.splice(0)) host.destroy(new Error("test over"));
  killRecorded(join(temp.path, "pids"));
  await temp.remove();
});

function options(overrides: Partial<SshHostOptions> = {}): SshHostOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKey: sshd.privateKey,
    hostKey: { knownHostsFile: sshd.knownHostsPath },
    ...overrides,
  };
}

async function connect(overrides: Partial<SshHostOptions> = {}): Promise<SshHost> {
  const host = await sshHost(options(overrides));
  hosts.push(host);
  return host;
}

describe("a dropped connection", () => {
  test("the server stopped mid-command: the call fails with ERR_HOST_CONNECTION_LOST, the next one reconnects", async () => {
    const host = await connect();
    const pidsFile = join(temp.path, "pids");
    const sleeper = host.spawn("sleep", ["1000"]);
    await sleeper.pid;
    const running = host.exec("sh", ["-c", `echo $$ >> '${pidsFile}'; exec sleep 1000`]);
    const [pid] = await readPids(pidsFile, 1);
    await sshd.stop();
    await expect(running).rejects.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    await expect(sleeper.exited).rejects.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    // While the server is down, a call says so (and does not hang).
    await expect(host.exec("true")).rejects.toMatchObject({ code: "ERR_HOST_CONNECT" });
    await sshd.restart();
    expect((await host.exec("echo", ["back"])).stdout).toBe("back\n");
    expect(isAliveNow(pid!)).toBe(false);
  });

  test("a forwarded stream is destroyed with ERR_HOST_CONNECTION_LOST", async () => {
    const host = await connect();
    const server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => server.listen(join(temp.path, "s.sock"), resolve));
    try {
      const stream = await host.connectUnix(join(temp.path, "s.sock"));
      const failed = new Promise((resolve) => stream.once("error", resolve));
      await sshd.stop();
      await expect(failed).resolves.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    } finally {
      server.close();
    }
  });

  test("a frozen server is detected by keepalives; the supervisor stops the orphaned command once the server resumes", async () => {
    const host = await connect({ keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
    const pidsFile = join(temp.path, "pids");
    const running = host.exec("sh", ["-c", `echo $$ >> '${pidsFile}'; exec sleep 1000`]);
    const [pid] = await readPids(pidsFile, 1);
    sshd.pause();
    await expect(running).rejects.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    expect(isAliveNow(pid!)).toBe(true);
    sshd.resume();
    // sshd sees the connection gone, the supervisor gets EOF and stops the command.
    await waitUntilGone([pid!]);
    expect((await host.exec("echo", ["again"])).stdout).toBe("again\n");
  });

  test("connecting to a server that does not answer times out; an abort stops the attempt", async () => {
    sshd.pause();
    await expect(sshHost(options({ connectTimeoutMs: 1000 }))).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      timeoutMs: 1000,
    });
    const controller = new AbortController();
    const attempt = sshHost(options({ signal: controller.signal }));
    controller.abort(new Error("changed my mind"));
    await expect(attempt).rejects.toMatchObject({ code: "ERR_ABORTED" });
    sshd.resume();
  });

  test("nothing listening is ERR_HOST_CONNECT", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    await expect(sshHost(options({ port }))).rejects.toMatchObject({ code: "ERR_HOST_CONNECT" });
  });
});

describe("authentication", () => {
  test("a key the server does not know is ERR_HOST_AUTH", async () => {
    const other = ssh2.utils.generateKeyPairSync("ed25519");
    await expect(sshHost(options({ privateKey: other.private }))).rejects.toMatchObject({
      code: "ERR_HOST_AUTH",
      user: sshd.user,
    });
  });

  test("an unusable key is ERR_HOST_AUTH before connecting; a key file works", async () => {
    await expect(sshHost(options({ privateKey: "not a key" }))).rejects.toMatchObject({
      code: "ERR_HOST_AUTH",
    });
    const host = await connect({ privateKey: undefined, privateKeyFile: sshd.privateKeyPath });
    expect((await host.exec("true")).exitCode).toBe(0);
  });

  test("a wrong password is ERR_HOST_AUTH (password and keyboard-interactive offered)", async () => {
    const withPasswords = await startSshd({ passwordAuthentication: true });
    try {
      await expect(
        sshHost({
          host: withPasswords.host,
          port: withPasswords.port,
          user: withPasswords.user,
          password: "certainly-not-the-password",
          hostKey: { fingerprint: withPasswords.hostKeyFingerprint },
        }),
      ).rejects.toMatchObject({
        code: "ERR_HOST_AUTH",
        message: expect.stringMatching(/password/),
      });
    } finally {
      await withPasswords.close();
    }
  });
});

describe("host key verification", () => {
  const otherKey = () => {
    const pair = ssh2.utils.generateKeyPairSync("ed25519");
    return pair.public.split(" ")[1]!;
  };

  test("a pinned fingerprint connects; another one is ERR_HOST_KEY_MISMATCH naming the server's key", async () => {
    const host = await connect({ hostKey: { fingerprint: sshd.hostKeyFingerprint } });
    expect(host.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    await expect(
      sshHost(options({ hostKey: { fingerprint: `SHA256:${"A".repeat(43)}` } })),
    ).rejects.toMatchObject({
      code: "ERR_HOST_KEY_MISMATCH",
      problem: "mismatch",
      fingerprint: sshd.hostKeyFingerprint,
    });
  });

  test("known hosts: another key is a mismatch, no entry is unknown, @revoked is refused", async () => {
    const name = `[127.0.0.1]:${sshd.port}`;
    await expect(
      sshHost(options({ hostKey: { knownHosts: `${name} ssh-ed25519 ${otherKey()}\n` } })),
    ).rejects.toMatchObject({ code: "ERR_HOST_KEY_MISMATCH", problem: "mismatch" });
    await expect(
      sshHost(options({ hostKey: { knownHosts: `lab9 ssh-ed25519 ${otherKey()}\n` } })),
    ).rejects.toMatchObject({ code: "ERR_HOST_KEY_MISMATCH", problem: "unknown" });
    await expect(
      sshHost(
        options({
          hostKey: { knownHosts: `@revoked ${sshd.knownHostsLine}\n${sshd.knownHostsLine}\n` },
        }),
      ),
    ).rejects.toMatchObject({ code: "ERR_HOST_KEY_MISMATCH", problem: "revoked" });
    const missing = join(temp.path, "no-such-known-hosts");
    await expect(sshHost(options({ hostKey: { knownHostsFile: missing } }))).rejects.toMatchObject({
      problem: "unknown",
    });
  });

  test("hashed entries, several files, and an ecdsa entry next to the ed25519 one are understood", async () => {
    const salt = Buffer.from("salty salty salty 20");
    const name = `[127.0.0.1]:${sshd.port}`;
    const hash = createHmac("sha1", salt).update(name).digest("base64");
    const key = sshd.knownHostsLine.split(" ").slice(1).join(" ");
    // Another key type for the same host (a server may have several) comes first.
    const ecdsa =
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIFrwtWgdhZiavz16/ULLMY5jUdA0LfMsBf6RYOjfOSqJIcs1ZeuKJlhBFwWNPu7ZxOLzFDRJxROB5Lna68vev0=";
    const hashedFile = join(temp.path, "known_hosts_hashed");
    writeFileSync(hashedFile, `${name} ${ecdsa}\n|1|${salt.toString("base64")}|${hash} ${key}\n`);
    const emptyFile = join(temp.path, "known_hosts_empty");
    writeFileSync(emptyFile, "");
    const host = await connect({ hostKey: { knownHostsFile: [emptyFile, hashedFile] } });
    expect((await host.exec("true")).exitCode).toBe(0);
  });

  test("verification off must be spelled out, and then any key is accepted", async () => {
    const host = await connect({ hostKey: "insecure-accept-any" });
    expect(host.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
  });
});

describe("sessions", () => {
  test("100 commands in parallel over one connection all run (100 sessions, and 10 queued)", async () => {
    for (const maxSessions of [100, 10]) {
      const host = await connect({ maxSessions });
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, index) => host.exec("echo", [String(index)])),
      );
      expect(results.map((result) => result.stdout)).toEqual(
        Array.from({ length: 100 }, (_, index) => `${index}\n`),
      );
    }
  });

  test("a server allowing fewer sessions than configured: the limit is learned, every command runs", async () => {
    const strict = await startSshd({ config: ["MaxSessions 4"] });
    try {
      const host = await sshHost({
        host: strict.host,
        port: strict.port,
        user: strict.user,
        privateKey: strict.privateKey,
        hostKey: { fingerprint: strict.hostKeyFingerprint },
        maxSessions: 20,
      });
      hosts.push(host);
      // The SFTP session and the supervisor hold two of the four.
      await host.exists("/");
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, index) => host.exec("sh", ["-c", `echo ${index}`])),
      );
      expect(results.map((result) => result.stdout)).toEqual(
        Array.from({ length: 30 }, (_, index) => `${index}\n`),
      );
    } finally {
      await strict.close();
    }
  });
});

describe("spawn", () => {
  test("pid resolves once the command runs (its cmdline, not the wrapper's)", async () => {
    const host = await connect();
    for (let round = 0; round < 50; round++) {
      const sleeper = host.spawn("sleep", ["1000"]);
      try {
        const info = await host.processInfo(await sleeper.pid);
        expect(info?.cmdline).toEqual(["sleep", "1000"]);
      } finally {
        await sleeper.stop();
      }
    }
  });
});

describe("the remote login shell", () => {
  async function withShellStartup(script: string, test: (host: SshHost) => Promise<void>) {
    const startup = join(temp.path, "startup.sh");
    writeFileSync(startup, script);
    // bash reads $BASH_ENV before running a command: like a noisy ~/.bashrc.
    const server = await startSshd({ sessionEnv: { BASH_ENV: startup } });
    try {
      const host = await sshHost({
        host: server.host,
        port: server.port,
        user: server.user,
        privateKey: server.privateKey,
        hostKey: { fingerprint: server.hostKeyFingerprint },
      });
      hosts.push(host);
      await test(host);
    } finally {
      await server.close();
    }
  }

  test("what its startup files print does not reach the command's output", async () => {
    await withShellStartup("echo 'Welcome to lab1!'; echo 'motd' >&2\n", async (host) => {
      const result = await host.exec("printf", ["%s", "exact"]);
      expect(result.stdout).toBe("exact");
      const binary = Buffer.from([0, 10, 13, 0x1e, 255]);
      expect(
        (await host.exec("cat", [], { input: binary, encoding: "buffer" })).stdout.equals(binary),
      ).toBe(true);
    });
  });

  test("a login shell that does not run commands is ERR_HOST_SPAWN remote-shell, with what it said", async () => {
    await withShellStartup(
      "echo 'This account is currently not available.'; exit 1\n",
      async (host) => {
        const error = await host.exec("true").catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: "ERR_HOST_SPAWN", reason: "remote-shell" });
        expect((error as Error).message).toContain("This account is currently not available.");
      },
    );
  });
});

describe("ssh-agent", () => {
  test("a key held by a real ssh-agent logs in", async () => {
    const { spawn, execFileSync } = await import("node:child_process");
    const socket = join(temp.path, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", socket], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      await new Promise((resolve, reject) => {
        agent.stdout.once("data", resolve);
        agent.once("error", reject);
      });
      execFileSync("ssh-add", ["-q", sshd.privateKeyPath], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
      });
      const host = await connect({ privateKey: undefined, agent: socket });
      expect((await host.exec("echo", ["via agent"])).stdout).toBe("via agent\n");
    } finally {
      agent.kill("SIGKILL");
    }
  });
});
