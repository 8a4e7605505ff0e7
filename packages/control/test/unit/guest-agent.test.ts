import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { connectGuestAgent, GuestAgentCommandError } from "../../src/index.js";
import { test, wire } from "../helpers/agent-setup.js";
import type { Request } from "../helpers/fake-agent.js";
import { rejection } from "../helpers/rejection.js";

describe("guest agent: synchronization", () => {
  test("connects with 0xFF + guest-sync-delimited and drops stale data up to the delimiter", async ({
    agents,
  }) => {
    const peer = agents.peer(undefined, { running: false });
    const connecting = connectGuestAgent(peer);
    // A previous client's leftovers: a whole stale reply and half of another.
    peer.send('{"return": {"pid": 99}, "id": 3}\n{"return": {"exi');
    peer.start();
    const agent = await connecting;
    expect(wire(peer).startsWith('ÿ{"execute":"guest-sync-delimited"')).toBe(true);
    await agent.ping();
    expect(peer.of("guest-ping")).toHaveLength(1);
    agent.destroy();
  });

  test("an agent already listening answers the first sync: connected with one sync, no resend", async ({
    agents,
  }) => {
    const peer = agents.peer();
    // A resend would take a minute: the test's own deadline would fail it first.
    const agent = await connectGuestAgent(peer, { syncIntervalMs: 60_000 });
    expect(peer.syncCount).toBe(1);
    await agent.ready();
    expect(peer.syncCount).toBe(1);
    agent.destroy();
  });

  test("sends the first sync again every syncIntervalMs while it has no answer (one the guest lost)", async ({
    agents,
  }) => {
    const peer = agents.peer(undefined, { running: false, losesWhileStopped: true });
    const connecting = connectGuestAgent(peer, { syncIntervalMs: 20 });
    await peer.syncsWritten(3); // the first and two resends, all lost
    peer.start();
    const agent = await connecting;
    await agent.ping();
    // Answered one of the later syncs: the ones before it were lost, never answered.
    expect(peer.of("guest-sync-delimited").length).toBeGreaterThanOrEqual(1);
    expect(peer.syncCount).toBeGreaterThan(peer.of("guest-sync-delimited").length);
    agent.destroy();
  });

  test("matches replies by id: a stale reply with another id is not taken for the answer", async ({
    agents,
  }) => {
    const { agent } = await agents.connected((request, fake) => {
      if (request.execute === "guest-get-osinfo")
        fake.reply({ return: { machine: "stale" }, id: 1 });
      return undefined;
    });
    const info = await rejection(agent.osInfo());
    // The stale line came first; the real answer (an error here) is the one with our id.
    expect(info.code).toBe("ERR_QGA_COMMAND");
    agent.destroy();
  });

  test("after a timeout, synchronizes before the next command and drops the late reply", async ({
    agents,
  }) => {
    let slow: Request | undefined;
    let lateSent = false;
    const { peer, agent } = await agents.connected((request, fake) => {
      if (request.execute === "guest-get-osinfo") {
        slow = request;
        return "silent";
      }
      if (request.execute === "guest-ping" && slow && !lateSent) {
        // The late answer arrives while the ping is on the wire, ahead of the ping's own.
        lateSent = true;
        fake.reply({ return: { machine: "late" }, id: slow.id });
      }
      return undefined;
    });
    const timedOut = await rejection(agent.osInfo({ timeoutMs: 20 }));
    expect(timedOut.code).toBe("ERR_TIMEOUT");
    const syncsBefore = peer.of("guest-sync-delimited").length;
    await agent.ping();
    expect(lateSent).toBe(true);
    // Dropped quietly: not taken for stray data that calls for another sync.
    await agent.ping();
    expect(peer.of("guest-sync-delimited")).toHaveLength(syncsBefore + 1);
    agent.destroy();
  });

  test("synchronizes after garbage was written to the channel, even garbage that swallows a request", async ({
    agents,
  }) => {
    const { peer, agent } = await agents.connected();
    // Garbage from someone else: complete (the agent answers with errors)…
    peer.write("}}garbage\n");
    await agent.ping();
    // …and a half request: our next request is glued to it and lost; the client notices
    // (an error without our id), syncs, sees no answer for it, and sends it again.
    peer.write('{"execute":');
    await agent.ping();
    // Parsed pings: the first, and the second sent again (its first copy was swallowed).
    expect(peer.of("guest-ping")).toHaveLength(2);
    // Syncs: on connect, and one after each stray error.
    expect(peer.of("guest-sync-delimited")).toHaveLength(3);
    agent.destroy();
  });

  test("sync() flushes and synchronizes on demand", async ({ agents }) => {
    const { peer, agent } = await agents.connected();
    const before = peer.of("guest-sync-delimited").length;
    await agent.sync();
    expect(peer.of("guest-sync-delimited")).toHaveLength(before + 1);
    agent.destroy();
  });
});

describe("guest agent: commands", () => {
  test("reports agent errors with class and description", async ({ agents }) => {
    const { agent } = await agents.connected();
    const error = await rejection(agent.execute("guest-frobnicate"));
    expect(error).toBeInstanceOf(GuestAgentCommandError);
    expect(error).toMatchObject({
      code: "ERR_QGA_COMMAND",
      command: "guest-frobnicate",
      errorClass: "CommandNotFound",
    });
    agent.destroy();
  });

  test("exec: arguments, environment, stdin; polls status with back-off until it exits", async ({
    agents,
  }) => {
    let polls = 0;
    const { peer, agent } = await agents.connected((request) => {
      if (request.execute === "guest-exec") return { return: { pid: 42 } };
      if (request.execute === "guest-exec-status") {
        polls++;
        if (polls < 4) return { return: { exited: false } };
        return {
          return: {
            exited: true,
            exitcode: 3,
            "out-data": Buffer.from("out\n").toString("base64"),
            "err-data": Buffer.from("err\n").toString("base64"),
            "out-truncated": false,
            "err-truncated": true,
          },
        };
      }
      return undefined;
    });
    const result = await agent.exec("/bin/cat", ["-n"], {
      env: { A: "1", B: "x=y" },
      input: "in\n",
    });
    expect(result).toMatchObject({
      exitCode: 3,
      signal: null,
      stdoutTruncated: false,
      stderrTruncated: true,
      pid: 42,
    });
    expect(result.stdout.toString()).toBe("out\n");
    expect(result.stderr.toString()).toBe("err\n");
    expect(peer.of("guest-exec")[0]!.arguments).toEqual({
      path: "/bin/cat",
      arg: ["-n"],
      env: ["A=1", "B=x=y"],
      "input-data": Buffer.from("in\n").toString("base64"),
      "capture-output": true,
    });
    expect(polls).toBe(4);
    agent.destroy();
  });

  test("run: /bin/sh -c with stderr into stdout; a signal shows as 128 + N and by name", async ({
    agents,
  }) => {
    const { peer, agent } = await agents.connected((request) => {
      if (request.execute === "guest-exec") return { return: { pid: 7 } };
      if (request.execute === "guest-exec-status") return { return: { exited: true, signal: 9 } };
      return undefined;
    });
    expect(await agent.run("kill -9 $$")).toMatchObject({
      exitCode: 137,
      signal: "SIGKILL",
      output: "",
    });
    expect(peer.of("guest-exec")[0]!.arguments).toMatchObject({
      path: "/bin/sh",
      arg: ["-c", "exec 2>&1\nkill -9 $$"],
    });
    agent.destroy();
  });

  test("exec timeout: rejects, then kills the process tree and collects its status", async ({
    agents,
  }) => {
    const killed: string[] = [];
    let reaped!: () => void;
    const reaping = new Promise<void>((resolve) => {
      reaped = resolve;
    });
    const { agent } = await agents.connected((request) => {
      if (request.execute === "guest-exec") {
        const args = request.arguments as { arg: string[] };
        if (args.arg[0] === "-c" && args.arg[1]!.includes("kill -KILL")) {
          killed.push(args.arg[1]!);
          return { return: { pid: 600 } };
        }
        return { return: { pid: 500 } };
      }
      if (request.execute === "guest-exec-status") {
        const pid = (request.arguments as { pid: number }).pid;
        // The target's status asked for after the kill: it is being reaped.
        if (pid === 500 && killed.length > 0) reaped();
        return {
          return: { exited: killed.length > 0, ...(pid === 500 ? { signal: 9 } : { exitcode: 0 }) },
        };
      }
      return undefined;
    });
    expect((await rejection(agent.exec("/bin/sleep", ["1000"], { timeoutMs: 30 }))).code).toBe(
      "ERR_TIMEOUT",
    );
    // The kill and the reaping run in the background.
    await reaping;
    expect(killed).toHaveLength(1);
    expect(killed[0]).toMatch(/k 500$/);
    agent.destroy();
  });

  test("reads and writes files in chunks, byte for byte", async ({ agents }) => {
    const files = new Map<number, { data: Buffer; position: number }>();
    let stored: Buffer = Buffer.alloc(0);
    const { peer, agent } = await agents.connected(
      (request) => {
        const args = (request.arguments ?? {}) as Record<string, unknown>;
        switch (request.execute) {
          case "guest-file-open": {
            const handle = 1000 + files.size;
            files.set(handle, { data: args.mode === "r" ? stored : Buffer.alloc(0), position: 0 });
            return { return: handle };
          }
          case "guest-file-write": {
            const file = files.get(args.handle as number)!;
            const bytes = Buffer.from(args["buf-b64"] as string, "base64");
            file.data = Buffer.concat([file.data, bytes]);
            return { return: { count: bytes.length, eof: false } };
          }
          case "guest-file-read": {
            const file = files.get(args.handle as number)!;
            const piece = file.data.subarray(file.position, file.position + (args.count as number));
            file.position += piece.length;
            return {
              return: {
                count: piece.length,
                "buf-b64": piece.toString("base64"),
                eof: file.position >= file.data.length,
              },
            };
          }
          case "guest-file-close": {
            const file = files.get(args.handle as number)!;
            if (file.position === 0 && file.data.length > 0) stored = file.data;
            files.delete(args.handle as number);
            return { return: {} };
          }
        }
        return undefined;
      },
      { fileChunkBytes: 4096 },
    );
    const data = randomBytes(40_000);
    await agent.writeFile("/tmp/blob", data);
    expect(peer.of("guest-file-write")).toHaveLength(10);
    expect(peer.of("guest-file-open")[0]!.arguments).toEqual({ path: "/tmp/blob", mode: "w" });
    const back = await agent.readFile("/tmp/blob");
    expect(back.equals(data)).toBe(true);
    expect(
      peer
        .of("guest-file-read")
        .every((request) => (request.arguments as { count: number }).count === 4096),
    ).toBe(true);
    expect(files.size).toBe(0); // every handle closed
    agent.destroy();
  });

  test("maps network interfaces and os info", async ({ agents }) => {
    const { agent } = await agents.connected((request) => {
      if (request.execute === "guest-network-get-interfaces")
        return {
          return: [
            {
              name: "lo",
              "hardware-address": "00:00:00:00:00:00",
              "ip-addresses": [{ "ip-address-type": "ipv4", "ip-address": "127.0.0.1", prefix: 8 }],
            },
            {
              name: "eth0",
              "hardware-address": "52:54:00:12:34:56",
              "ip-addresses": [
                { "ip-address-type": "ipv4", "ip-address": "10.0.2.15", prefix: 24 },
              ],
            },
            { name: "eth1" },
          ],
        };
      if (request.execute === "guest-get-osinfo")
        return {
          return: { "kernel-release": "6.1.0", machine: "x86_64", "pretty-name": "Debian" },
        };
      return undefined;
    });
    expect(await agent.networkInterfaces()).toEqual([
      {
        name: "lo",
        macAddress: undefined,
        addresses: [{ family: "ipv4", address: "127.0.0.1", prefixLength: 8 }],
      },
      {
        name: "eth0",
        macAddress: "52:54:00:12:34:56",
        addresses: [{ family: "ipv4", address: "10.0.2.15", prefixLength: 24 }],
      },
      { name: "eth1", macAddress: undefined, addresses: [] },
    ]);
    expect(await agent.waitForNetwork({ interfaceName: "eth0" })).toHaveLength(3);
    expect(await agent.osInfo()).toEqual({
      kernelRelease: "6.1.0",
      machine: "x86_64",
      prettyName: "Debian",
    });
    agent.destroy();
  });
});

describe("guest agent: shutdown and closing", () => {
  test("shutdown resolves once the agent takes the next sync without an error", async ({
    agents,
  }) => {
    const { peer, agent } = await agents.connected((request) =>
      request.execute === "guest-shutdown" ? "silent" : undefined,
    );
    await agent.powerdown();
    expect(peer.of("guest-shutdown")[0]!.arguments).toEqual({ mode: "powerdown" });
    // The sync sent right after it is how success shows.
    expect(peer.requests.at(-1)!.execute).toBe("guest-sync-delimited");
    agent.destroy();
  });

  test("shutdown rejects with the agent's error, and resolves when the channel closes instead", async ({
    agents,
  }) => {
    const failing = await agents.connected((request) =>
      request.execute === "guest-shutdown"
        ? { error: { class: "GenericError", desc: "shutdown failed" } }
        : undefined,
    );
    expect((await rejection(failing.agent.reboot())).code).toBe("ERR_QGA_COMMAND");
    failing.agent.destroy();

    const closing = await agents.connected((request, fake) => {
      if (request.execute === "guest-shutdown") {
        fake.running = false; // the agent dies before reading the sync…
        queueMicrotask(() => fake.hangUp()); // …and QEMU exits
        return "silent";
      }
      return undefined;
    });
    await closing.agent.shutdown("halt");
    expect(await closing.agent.closed).toEqual({ by: "peer" });
  });

  test("rejects pending and later calls with ERR_QGA_CLOSED", async ({ agents }) => {
    const { peer, agent } = await agents.connected((request) =>
      request.execute === "guest-get-osinfo" ? "silent" : undefined,
    );
    const pending = agent.osInfo();
    const queued = agent.ping();
    peer.hangUp();
    expect((await rejection(pending)).code).toBe("ERR_QGA_CLOSED");
    expect((await rejection(queued)).code).toBe("ERR_QGA_CLOSED");
    expect((await rejection(agent.ping())).code).toBe("ERR_QGA_CLOSED");
  });

  test("close() lets queued calls finish, then closes the stream", async ({ agents }) => {
    const { peer, agent } = await agents.connected();
    const pings = [agent.ping(), agent.ping()];
    await agent.close();
    await Promise.all(pings);
    expect(peer.destroyed).toBe(true);
    expect(await agent.closed).toEqual({ by: "client" });
  });

  test("a connect that times out destroys the stream", async ({ agents }) => {
    const peer = agents.peer(undefined, { running: false });
    expect((await rejection(connectGuestAgent(peer, { timeoutMs: 30 }))).code).toBe("ERR_TIMEOUT");
    expect(peer.destroyed).toBe(true);
  });
});
