/**
 * What only the SSH transport has: a connection that can drop and come back, a
 * server that can hang, authentication and host key verification, and the
 * server's session limit. Against a real sshd (testkit's `sshd` fixture, one per
 * file), stopped, frozen and restarted under the client.
 */
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { isAliveNow, type SshdFixture, startSshd, waitUntilGone } from "@qemu-kvm/testkit";
import { test as base } from "@qemu-kvm/testkit/fixtures";
import ssh2 from "ssh2";
import { describe, expect } from "vitest";
import { connectSshHost, type SshHost, type SshHostOptions } from "../../src/index.js";
import { killRecorded, readPids } from "../helpers/pids.js";
import { sshOptions } from "../helpers/ssh.js";

/** Connects to the file's sshd (or `server`) with `overrides`; destroyed after the test. */
type Connect = (overrides?: Partial<SshHostOptions>, server?: SshdFixture) => Promise<SshHost>;

const test = base
  // The file's sshd, thawed and running again after each test, whatever the test did to it.
  .extend("daemon", async ({ sshd }, { onCleanup }) => {
    onCleanup(async () => {
      sshd.resume();
      if (sshd.pid === undefined) await sshd.restart();
    });
    return sshd;
  })
  // The test's directory; the processes whose pids its commands wrote to `pids` are killed after it.
  .extend("dir", async ({ tempDir }, { onCleanup }) => {
    onCleanup(() => killRecorded(join(tempDir.path, "pids")));
    return tempDir.path;
  })
  .extend("connect", async ({ daemon }, { onCleanup }): Promise<Connect> => {
    const hosts: SshHost[] = [];
    onCleanup(() => {
      for (const host of hosts) host.destroy(new Error("test over"));
    });
    return async (overrides = {}, other = daemon) => {
      const host = await connectSshHost(sshOptions(other, overrides));
      hosts.push(host);
      return host;
    };
  });

/** testkit puts these lines before its own `MaxSessions 1000`, so they take effect. */
const maxSessions = (count: number) => [`MaxSessions ${count}`];

describe("a dropped connection", () => {
  test("the server stopped mid-command: the call fails with ERR_HOST_CONNECTION_LOST, the next one reconnects", async ({
    connect,
    dir,
    daemon,
  }) => {
    const host = await connect();
    const pidsFile = join(dir, "pids");
    const sleeper = host.spawn("sleep", ["1000"]);
    await sleeper.pid;
    const running = host.exec("sh", ["-c", `echo $$ >> '${pidsFile}'; exec sleep 1000`]);
    const [pid] = await readPids(pidsFile, 1);
    await daemon.stop();
    await expect(running).rejects.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    await expect(sleeper.exited).rejects.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    // While the server is down, a call says so (and does not hang).
    await expect(host.exec("true")).rejects.toMatchObject({ code: "ERR_HOST_CONNECT" });
    await daemon.restart();
    expect((await host.exec("echo", ["back"])).stdout).toBe("back\n");
    expect(isAliveNow(pid!)).toBe(false);
  });

  test("a forwarded stream is destroyed with ERR_HOST_CONNECTION_LOST", async ({
    connect,
    dir,
    daemon,
  }) => {
    const host = await connect();
    const server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => server.listen(join(dir, "s.sock"), resolve));
    try {
      const stream = await host.connectUnix(join(dir, "s.sock"));
      const failed = new Promise((resolve) => stream.once("error", resolve));
      await daemon.stop();
      await expect(failed).resolves.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    } finally {
      server.close();
    }
  });

  test("a frozen server is detected by keepalives; the supervisor stops the orphaned command once the server resumes", async ({
    connect,
    daemon,
  }) => {
    const host = await connect({ keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
    // `pid` resolves once the command is registered with the supervisor (a pid file
    // written by the command could come before that, and the command then escape it).
    const running = host.spawn("sh", ["-c", "exec sleep 1000"]);
    const pid = await running.pid;
    daemon.pause();
    await expect(running.exited).rejects.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    expect(isAliveNow(pid)).toBe(true);
    daemon.resume();
    // sshd sees the connection gone, the supervisor gets EOF and stops the command.
    await waitUntilGone([pid]);
    expect((await host.exec("echo", ["again"])).stdout).toBe("again\n");
  });

  test("a frozen server with keepalives off: calls without timeoutMs end at the host's defaults", async ({
    connect,
    daemon,
  }) => {
    const host = await connect({
      keepaliveIntervalMs: 0,
      defaultTimeouts: { exec: 500, stat: 500, connectTcp: 500 },
    });
    expect((await host.exec("echo", ["up"])).stdout).toBe("up\n");
    daemon.pause();
    // The exec rejects once given up on: the stop finds no channel, and waits 2 × forceKillAfterMs.
    const calls = [
      host.exec("true", [], { forceKillAfterMs: 200 }),
      host.stat("/"),
      host.connectTcp("127.0.0.1", daemon.port),
    ];
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((outcome) => outcome.status === "rejected" && outcome.reason)).toEqual([
      expect.objectContaining({ code: "ERR_TIMEOUT", timeoutMs: 500, operation: "exec true" }),
      expect.objectContaining({ code: "ERR_TIMEOUT", timeoutMs: 500, operation: "stat /" }),
      expect.objectContaining({ code: "ERR_TIMEOUT", timeoutMs: 500 }),
    ]);
    daemon.resume();
    expect((await host.exec("echo", ["again"])).stdout).toBe("again\n");
  });

  test("connecting to a server that does not answer times out; an abort stops the attempt", async ({
    daemon,
  }) => {
    daemon.pause();
    await expect(
      connectSshHost(sshOptions(daemon, { connectTimeoutMs: 1000 })),
    ).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      timeoutMs: 1000,
    });
    const controller = new AbortController();
    const attempt = connectSshHost(sshOptions(daemon, { signal: controller.signal }));
    controller.abort(new Error("changed my mind"));
    await expect(attempt).rejects.toMatchObject({ code: "ERR_ABORTED" });
    daemon.resume();
  });

  test("nothing listening is ERR_HOST_CONNECT", async ({ daemon }) => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    await expect(connectSshHost(sshOptions(daemon, { port }))).rejects.toMatchObject({
      code: "ERR_HOST_CONNECT",
    });
  });
});

describe("authentication", () => {
  test("a key the server does not know is ERR_HOST_AUTH", async ({ daemon }) => {
    const other = ssh2.utils.generateKeyPairSync("ed25519");
    await expect(
      connectSshHost(sshOptions(daemon, { privateKey: other.private })),
    ).rejects.toMatchObject({
      code: "ERR_HOST_AUTH",
      user: daemon.user,
    });
  });

  test("an unusable key is ERR_HOST_AUTH before connecting; a key file works", async ({
    connect,
    daemon,
  }) => {
    await expect(
      connectSshHost(sshOptions(daemon, { privateKey: "not a key" })),
    ).rejects.toMatchObject({
      code: "ERR_HOST_AUTH",
    });
    const host = await connect({ privateKey: undefined, privateKeyFile: daemon.privateKeyPath });
    expect((await host.exec("true")).exitCode).toBe(0);
  });

  test("a wrong password is ERR_HOST_AUTH (password and keyboard-interactive offered)", async () => {
    const withPasswords = await startSshd({ passwordAuthentication: true });
    try {
      await expect(
        connectSshHost({
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

  test("a pinned fingerprint connects; another one is ERR_HOST_KEY_MISMATCH naming the server's key", async ({
    connect,
    daemon,
  }) => {
    const host = await connect({ hostKey: { fingerprint: daemon.hostKeyFingerprint } });
    expect(host.hostKeyFingerprint).toBe(daemon.hostKeyFingerprint);
    await expect(
      connectSshHost(sshOptions(daemon, { hostKey: { fingerprint: `SHA256:${"A".repeat(43)}` } })),
    ).rejects.toMatchObject({
      code: "ERR_HOST_KEY_MISMATCH",
      problem: "mismatch",
      fingerprint: daemon.hostKeyFingerprint,
    });
  });

  test("known hosts: another key is a mismatch, no entry is unknown, @revoked is refused", async ({
    dir,
    daemon,
  }) => {
    const name = `[127.0.0.1]:${daemon.port}`;
    await expect(
      connectSshHost(
        sshOptions(daemon, { hostKey: { knownHosts: `${name} ssh-ed25519 ${otherKey()}\n` } }),
      ),
    ).rejects.toMatchObject({ code: "ERR_HOST_KEY_MISMATCH", problem: "mismatch" });
    await expect(
      connectSshHost(
        sshOptions(daemon, { hostKey: { knownHosts: `lab9 ssh-ed25519 ${otherKey()}\n` } }),
      ),
    ).rejects.toMatchObject({ code: "ERR_HOST_KEY_MISMATCH", problem: "unknown" });
    await expect(
      connectSshHost(
        sshOptions(daemon, {
          hostKey: { knownHosts: `@revoked ${daemon.knownHostsLine}\n${daemon.knownHostsLine}\n` },
        }),
      ),
    ).rejects.toMatchObject({ code: "ERR_HOST_KEY_MISMATCH", problem: "revoked" });
    const missing = join(dir, "no-such-known-hosts");
    await expect(
      connectSshHost(sshOptions(daemon, { hostKey: { knownHostsFile: missing } })),
    ).rejects.toMatchObject({
      problem: "unknown",
    });
  });

  test("hashed entries, several files, and an ecdsa entry next to the ed25519 one are understood", async ({
    connect,
    dir,
    daemon,
  }) => {
    const salt = Buffer.from("salty salty salty 20");
    const name = `[127.0.0.1]:${daemon.port}`;
    const hash = createHmac("sha1", salt).update(name).digest("base64");
    const key = daemon.knownHostsLine.split(" ").slice(1).join(" ");
    // Another key type for the same host (a server may have several) comes first.
    const ecdsa =
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIFrwtWgdhZiavz16/ULLMY5jUdA0LfMsBf6RYOjfOSqJIcs1ZeuKJlhBFwWNPu7ZxOLzFDRJxROB5Lna68vev0=";
    const hashedFile = join(dir, "known_hosts_hashed");
    writeFileSync(hashedFile, `${name} ${ecdsa}\n|1|${salt.toString("base64")}|${hash} ${key}\n`);
    const emptyFile = join(dir, "known_hosts_empty");
    writeFileSync(emptyFile, "");
    const host = await connect({ hostKey: { knownHostsFile: [emptyFile, hashedFile] } });
    expect((await host.exec("true")).exitCode).toBe(0);
  });

  test("verification off must be spelled out, and then any key is accepted", async ({
    connect,
    daemon,
  }) => {
    const host = await connect({ hostKey: "insecure-accept-any" });
    expect(host.hostKeyFingerprint).toBe(daemon.hostKeyFingerprint);
  });
});

describe("sessions", () => {
  test("100 commands in parallel over one connection all run (100 sessions, and 10 queued)", async ({
    connect,
  }) => {
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

  test("a server allowing fewer sessions than configured: the limit is learned, every command runs", async ({
    connect,
  }) => {
    const strict = await startSshd({ config: maxSessions(4) });
    try {
      const host = await connect({ maxSessions: 20 }, strict);
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

  test("every session busy: a file call that times out rejects, and its giving up fails no other caller", async ({
    connect,
    dir,
  }) => {
    const strict = await startSshd({ config: maxSessions(3) });
    try {
      const host = await connect({}, strict);
      const pidsFile = join(dir, "pids");
      // The supervisor and two commands hold the server's three sessions; SFTP is not open yet.
      const sleeps = [1, 2].map(() =>
        host
          .exec("sh", ["-c", `echo $$ >> '${pidsFile}'; exec sleep 1000`])
          .catch((error: unknown) => error),
      );
      const pids = await readPids(pidsFile, 2);
      // The first caller opens the SFTP session, which waits for a free session; it gives up.
      const impatient = host.exists("/", { timeoutMs: 300 });
      const patient = host.exists("/", { timeoutMs: 120_000 });
      await expect(impatient).rejects.toMatchObject({
        code: "ERR_TIMEOUT",
        timeoutMs: 300,
        operation: "exists /",
      });
      // A session frees: the SFTP session opens for the caller still waiting.
      process.kill(pids[0]!, "SIGKILL");
      await expect(patient).resolves.toBe(true);
      // The command killed (whichever of the two wrote its pid first) failed as killed.
      await expect(Promise.race(sleeps)).resolves.toMatchObject({
        code: "ERR_HOST_EXIT",
        signal: "SIGKILL",
      });
      expect(await host.readFile("/proc/self/stat", { encoding: "utf8" })).toMatch(/^\d+ /);
    } finally {
      await strict.close();
    }
  });

  test("a server allowing fewer than three sessions: file calls and commands reject with codes", async ({
    connect,
    dir,
  }) => {
    const strict = await startSshd({ config: maxSessions(2) });
    try {
      const host = await connect({}, strict);
      const pidsFile = join(dir, "pids");
      // The supervisor and one command hold both sessions: SFTP is refused.
      const sleep = host
        .exec("sh", ["-c", `echo $$ >> '${pidsFile}'; exec sleep 1000`])
        .catch((error: unknown) => error);
      await readPids(pidsFile, 1);
      const refused = {
        message: expect.stringMatching(/MaxSessions/),
        host: host.name,
      };
      await expect(host.exists("/")).rejects.toMatchObject({
        code: "ERR_HOST_SYSTEM",
        operation: "exists",
        ...refused,
      });
      await expect(host.readFile("/etc/hostname")).rejects.toMatchObject({
        code: "ERR_HOST_SYSTEM",
        ...refused,
      });
      await expect(host.exec("true")).rejects.toMatchObject({
        code: "ERR_HOST_SPAWN",
        reason: "system",
        ...refused,
      });
      host.destroy(new Error("test over"));
      await sleep;
    } finally {
      await strict.close();
    }
  });

  test("spawn: pid resolves while every command session is busy (the host keeps SFTP's session)", async ({
    connect,
  }) => {
    // Three sessions: the supervisor, SFTP and one command.
    const host = await connect({ maxSessions: 3 });
    const first = host.spawn("sleep", ["1000"]);
    const second = host.spawn("sleep", ["1000"]);
    try {
      // `pid` reads /proc over SFTP: it must not wait behind the commands.
      expect((await host.processInfo(await first.pid))?.cmdline).toEqual(["sleep", "1000"]);
      await first.stop();
      expect((await host.processInfo(await second.pid))?.cmdline).toEqual(["sleep", "1000"]);
    } finally {
      await Promise.allSettled([first.stop(), second.stop()]);
    }
  });
});

describe("spawn", () => {
  test("pid resolves once the command runs (its cmdline, not the wrapper's)", async ({
    connect,
  }) => {
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
  async function withShellStartup(
    dir: string,
    connect: Connect,
    script: string,
    test: (host: SshHost) => Promise<void>,
  ) {
    const startup = join(dir, "startup.sh");
    writeFileSync(startup, script);
    // bash reads $BASH_ENV before running a command: like a noisy ~/.bashrc.
    const server = await startSshd({ sessionEnv: { BASH_ENV: startup } });
    try {
      await test(await connect({}, server));
    } finally {
      await server.close();
    }
  }

  test("what its startup files print does not reach the command's output", async ({
    connect,
    dir,
  }) => {
    await withShellStartup(
      dir,
      connect,
      "echo 'Welcome to lab1!'; echo 'motd' >&2\n",
      async (host) => {
        const result = await host.exec("printf", ["%s", "exact"]);
        expect(result.stdout).toBe("exact");
        const binary = Buffer.from([0, 10, 13, 0x1e, 255]);
        expect(
          (await host.exec("cat", [], { input: binary, encoding: "buffer" })).stdout.equals(binary),
        ).toBe(true);
      },
    );
  });

  test("a login shell that does not run commands is ERR_HOST_SPAWN remote-shell, with what it said", async ({
    connect,
    dir,
  }) => {
    await withShellStartup(
      dir,
      connect,
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
  test("a key held by a real ssh-agent logs in", async ({ connect, dir, daemon }) => {
    const { spawn, execFileSync } = await import("node:child_process");
    const socket = join(dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", socket], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      await new Promise((resolve, reject) => {
        agent.stdout.once("data", resolve);
        agent.once("error", reject);
      });
      execFileSync("ssh-add", ["-q", daemon.privateKeyPath], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
      });
      const host = await connect({ privateKey: undefined, agent: socket });
      expect((await host.exec("echo", ["via agent"])).stdout).toBe("via agent\n");
    } finally {
      agent.kill("SIGKILL");
    }
  });
});
