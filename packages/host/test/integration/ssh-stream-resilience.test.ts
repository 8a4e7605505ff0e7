/**
 * What only an SSH host over a stream (`sock`) has: the stream is the caller's
 * (another host's `connectTcp`, as a guest behind a lab host is reached), it
 * ends with the host, and a connection over it cannot be made again unless an
 * opener was given. Against a real sshd (testkit's `sshd` fixture).
 */
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { createConnection, createServer, type Socket } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { waitUntilGone } from "@qemu-kvm/testkit";
import { test as base } from "@qemu-kvm/testkit/fixtures";
import { describe, expect } from "vitest";
import {
  connectSshHost,
  fingerprintOf,
  type Host,
  type SshHost,
  type SshHostOptions,
} from "../../src/index.js";
import { killRecorded, readPids } from "../helpers/pids.js";
import { sshOptions, streamOptions } from "../helpers/ssh.js";

/** Hosts opened by a test, destroyed after it. */
type Track = <T extends Host>(host: T) => T;

const test = base
  .extend("dir", async ({ tempDir }, { onCleanup }) => {
    onCleanup(() => killRecorded(join(tempDir.path, "pids")));
    return tempDir.path;
  })
  .extend("track", async ({}, { onCleanup }): Promise<Track> => {
    const hosts: Host[] = [];
    onCleanup(() => {
      for (const host of hosts) host.destroy(new Error("test over"));
    });
    return (host) => {
      hosts.push(host);
      return host;
    };
  });

/** A TCP connection of our own to the sshd, connected. */
async function tcpTo(port: number): Promise<Socket> {
  const socket = createConnection(port, "127.0.0.1");
  await once(socket, "connect");
  return socket;
}

/** Resolves when `stream` has closed (at once if it has). */
function closed(stream: Duplex): Promise<void> {
  return stream.destroyed ? Promise.resolve() : once(stream, "close").then(() => {});
}

describe("host keys of a guest", () => {
  test("fingerprintOf agrees with ssh-keygen -l on the server's host key, and pins it", async ({
    sshd,
    track,
  }) => {
    const printed = execFileSync("ssh-keygen", ["-l", "-f", join(sshd.dir, "host_ed25519.pub")], {
      encoding: "utf8",
    });
    const expected = printed.split(" ")[1];
    expect(fingerprintOf(sshd.hostPublicKey)).toBe(expected);
    expect(fingerprintOf(sshd.knownHostsLine)).toBe(expected);
    const host = track(await connectSshHost(streamOptions(sshd, await tcpTo(sshd.port))));
    expect(host.hostKeyFingerprint).toBe(expected);
    // Another pin: refused before anything is sent, and the stream is ended.
    const other = await tcpTo(sshd.port);
    await expect(
      connectSshHost(
        streamOptions(sshd, other, {
          hostKey: { fingerprint: `SHA256:${"A".repeat(43)}` },
        }),
      ),
    ).rejects.toMatchObject({ code: "ERR_HOST_KEY_MISMATCH", fingerprint: expected });
    await closed(other);
  });
});

describe("SSH over a stream", () => {
  test("a host in the middle: a guest's sshd reached through another host's connectTcp", async ({
    sshd,
    track,
  }) => {
    const lab = track(await connectSshHost(sshOptions(sshd)));
    const forwarded = await lab.connectTcp("127.0.0.1", sshd.port);
    const guest = track(await connectSshHost(streamOptions(sshd, forwarded)));
    expect(guest.name).toBe(`${sshd.user}@guest`);
    expect((await guest.exec("echo", ["inside"])).stdout).toBe("inside\n");
    expect(await guest.architecture()).toBe(await lab.architecture());
    // Closing the guest ends its stream; the lab goes on.
    await guest.close();
    await closed(forwarded);
    await expect(guest.exec("true")).rejects.toMatchObject({ code: "ERR_HOST_CLOSED" });
    expect((await lab.exec("echo", ["lab"])).stdout).toBe("lab\n");
  });

  test("the stream drops: calls in flight reject with ERR_HOST_CONNECTION_LOST, then the host is closed", async ({
    sshd,
    dir,
    track,
  }) => {
    const lab = track(await connectSshHost(sshOptions(sshd)));
    const guest = track(
      await connectSshHost(streamOptions(sshd, await lab.connectTcp("127.0.0.1", sshd.port))),
    );
    // Its pid resolves once the command is registered with the host's supervisor.
    const sleeper = guest.spawn("sleep", ["1000"]);
    const pid = await sleeper.pid;
    const pidsFile = join(dir, "pids");
    const running = guest.exec("sh", ["-c", `echo $$ >> '${pidsFile}'; exec sleep 1000`]);
    await readPids(pidsFile, 1);
    // The lab host going away takes the forwarded stream with it.
    lab.destroy(new Error("lab gone"));
    const lost = await running.catch((error: unknown) => error);
    expect(lost).toMatchObject({ code: "ERR_HOST_CONNECTION_LOST", host: guest.name });
    await expect(sleeper.exited).rejects.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    await expect(guest.exec("true")).rejects.toMatchObject({
      code: "ERR_HOST_CLOSED",
      cause: expect.objectContaining({ code: "ERR_HOST_CONNECTION_LOST" }),
    });
    await expect(guest.spawn("true").exited).rejects.toMatchObject({ code: "ERR_HOST_CLOSED" });
    // sshd saw its connection end: the supervisor stopped the command.
    await waitUntilGone([pid]);
    await guest.close();
  });

  test("with an opener, a dropped connection is made again over a new stream", async ({
    sshd,
    track,
  }) => {
    const streams: Socket[] = [];
    const signals: AbortSignal[] = [];
    const guest = track(
      await connectSshHost(
        streamOptions(sshd, async ({ signal }) => {
          signals.push(signal);
          const socket = await tcpTo(sshd.port);
          streams.push(socket);
          return socket;
        }),
      ),
    );
    expect((await guest.exec("echo", ["one"])).stdout).toBe("one\n");
    const running = guest.exec("sleep", ["1000"]);
    streams[0]!.destroy();
    await expect(running).rejects.toMatchObject({ code: "ERR_HOST_CONNECTION_LOST" });
    expect((await guest.exec("echo", ["two"])).stdout).toBe("two\n");
    expect(streams).toHaveLength(2);
    expect(signals.every((signal) => signal instanceof AbortSignal)).toBe(true);
    await guest.close();
    await closed(streams[1]!);
  });

  test("an opener's failure is ERR_HOST_CONNECT with its cause; a stream that comes too late is destroyed", async ({
    sshd,
    track,
  }) => {
    const lab = track(await connectSshHost(sshOptions(sshd)));
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const refused = connectSshHost(streamOptions(sshd, () => lab.connectTcp("127.0.0.1", port)));
    await expect(refused).rejects.toMatchObject({
      code: "ERR_HOST_CONNECT",
      cause: expect.objectContaining({ code: "ERR_HOST_SOCKET" }),
    });
    // An opener that answers only after the connection attempt gave up.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let deliver!: (socket: Socket) => void;
    const delivered = new Promise<Socket>((resolve) => {
      deliver = resolve;
    });
    const slow: SshHostOptions["sock"] = async () => {
      await gate;
      const socket = await tcpTo(sshd.port);
      deliver(socket);
      return socket;
    };
    await expect(
      connectSshHost(streamOptions(sshd, slow, { timeoutMs: 100 })),
    ).rejects.toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 100 });
    release();
    await closed(await delivered);
  });

  test("closing the host ends the stream; destroy() destroys it", async ({ sshd }) => {
    const first = await tcpTo(sshd.port);
    const host: SshHost = await connectSshHost(streamOptions(sshd, first));
    await host.close();
    await closed(first);
    const second = await tcpTo(sshd.port);
    const other = await connectSshHost(streamOptions(sshd, second));
    other.destroy();
    await closed(second);
  });
});
