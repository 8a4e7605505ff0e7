import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { OperationMessage } from "@qemu-kvm/core";
import { describe, expect, onTestFinished } from "vitest";
import {
  AbortError,
  ClosedError,
  connectGuestAgent,
  GuestAgentClosedError,
  GuestAgentProtocolError,
  TimeoutError,
} from "../../src/index.js";
import { test } from "../helpers/agent-setup.js";
import type { FakeAgent } from "../helpers/fake-agent.js";
import { retainedBufferBytes } from "../helpers/memory.js";
import { rejection } from "../helpers/rejection.js";

const MiB = 1024 * 1024;
const invalid = (field: string) => expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field });

describe("guest agent: the deadline rule", () => {
  test("timeoutMs 0 has already expired: ERR_TIMEOUT, and nothing is sent", async ({ agents }) => {
    const { peer, agent } = await agents.connected();
    const before = peer.raw.length;
    expect((await rejection(agent.ping({ timeoutMs: 0 }))).code).toBe("ERR_TIMEOUT");
    expect((await rejection(agent.exec("/bin/true", [], { timeoutMs: 0 }))).code).toBe(
      "ERR_TIMEOUT",
    );
    expect((await rejection(agent.readFile("/etc/hostname", { timeoutMs: 0 }))).code).toBe(
      "ERR_TIMEOUT",
    );
    expect(peer.raw.length).toBe(before);
    // And a connect with no time left writes nothing; the stream is closed, as after any failed connect.
    const late = agents.peer();
    expect((await rejection(connectGuestAgent(late, { timeoutMs: 0 }))).code).toBe("ERR_TIMEOUT");
    expect(late.raw).toEqual([]);
    expect(late.destroyed).toBe(true);
  });

  test("timeoutMs Infinity waits without a deadline", async ({ agents }) => {
    const peer = agents.peer(undefined, { running: false });
    const connecting = connectGuestAgent(peer, { timeoutMs: Number.POSITIVE_INFINITY });
    await nextTurn();
    peer.start();
    const agent = await connecting;
    await agent.ping({ timeoutMs: Number.POSITIVE_INFINITY });
    expect(peer.of("guest-ping")).toHaveLength(1);
  });

  test("a negative, NaN or non-number timeoutMs throws ERR_INVALID_ARGUMENT before anything starts", async ({
    agents,
  }) => {
    const { peer, agent } = await agents.connected();
    const before = peer.raw.length;
    for (const timeoutMs of [-1, Number.NaN, "10" as unknown as number]) {
      expect(() => agent.ping({ timeoutMs })).toThrow(invalid("options.timeoutMs"));
      expect(() => agent.execute("guest-info", undefined, { timeoutMs })).toThrow(
        invalid("options.timeoutMs"),
      );
      expect(() => agent.exec("/bin/true", [], { timeoutMs })).toThrow(
        invalid("options.timeoutMs"),
      );
      expect(() => agent.run("true", { timeoutMs })).toThrow(invalid("options.timeoutMs"));
      expect(() => agent.shutdown("halt", { timeoutMs })).toThrow(invalid("options.timeoutMs"));
    }
    expect(peer.raw.length).toBe(before);
    // connectGuestAgent throws at once too, and leaves the stream to the caller.
    const untouched = agents.peer();
    expect(() => connectGuestAgent(untouched, { timeoutMs: -1 })).toThrow(
      invalid("options.timeoutMs"),
    );
    expect(untouched.raw).toEqual([]);
    expect(untouched.destroyed).toBe(false);
  });
});

describe("guest agent: options and arguments are checked alike", () => {
  test("unknown option keys and bad values are refused, naming the field", async ({ agents }) => {
    const { agent } = await agents.connected();
    const misspelt = { timeoutMs: 5, comandTimeoutMs: 5 } as unknown as { timeoutMs: number };
    expect(() => connectGuestAgent(agents.peer(), misspelt)).toThrow(
      invalid("options.comandTimeoutMs"),
    );
    expect(() => connectGuestAgent(agents.peer(), { fileChunkBytes: 64 * MiB })).toThrow(
      invalid("options.fileChunkBytes"),
    );
    expect(() =>
      connectGuestAgent(agents.peer(), { maxReplyBytes: 64 * 1024, fileChunkBytes: 256 * 1024 }),
    ).toThrow(invalid("options.fileChunkBytes"));
    for (const syncIntervalMs of [0, -1, Number.POSITIVE_INFINITY, "5" as never])
      expect(() => connectGuestAgent(agents.peer(), { syncIntervalMs })).toThrow(
        invalid("options.syncIntervalMs"),
      );
    expect(() => agent.exec("/bin/true", [], { env: { "A=B": "1" } })).toThrow(
      invalid('options.env["A=B"]'),
    );
    expect(() => agent.exec("/bin/true", [], { env: ["A=1"] as never })).toThrow(
      invalid("options.env"),
    );
    expect(() => agent.exec("", [])).toThrow(invalid("path"));
    expect(() => agent.exec("/bin/echo", ["a", 1 as never])).toThrow(invalid("args[1]"));
    expect(() => agent.execute("guest-sync-delimited")).toThrow(invalid("command"));
    expect(() => agent.shutdown("sleep" as never)).toThrow(invalid("mode"));
    expect(() => agent.writeFile("/tmp/x", "data", { apend: true } as never)).toThrow(
      invalid("options.apend"),
    );
    expect(() => agent.readFileChunk(1, 64 * MiB)).toThrow(invalid("count"));
  });
});

describe("guest agent: results and errors", () => {
  test("exec: env is the whole environment as NAME=value; a signal is a name, or null when it has none", async ({
    agents,
  }) => {
    let signal = 15;
    const { peer, agent } = await agents.connected((request) => {
      if (request.execute === "guest-exec") return { return: { pid: 3 } };
      if (request.execute === "guest-exec-status") return { return: { exited: true, signal } };
      return undefined;
    });
    const killed = await agent.exec("/bin/sleep", ["9"], { env: { PATH: "/bin", EMPTY: "" } });
    expect(killed).toMatchObject({ exitCode: null, signal: "SIGTERM" });
    expect(peer.of("guest-exec")[0]!.arguments!.env).toEqual(["PATH=/bin", "EMPTY="]);
    signal = 34; // SIGRTMIN: no name
    expect(await agent.exec("/bin/sleep", ["9"])).toMatchObject({ exitCode: null, signal: null });
    expect(await agent.run("sleep 9")).toMatchObject({ exitCode: 162, signal: null });
  });

  test("every error is of the family: closed, timeout and abort", async ({ agents }) => {
    const { peer, agent } = await agents.connected((request) =>
      request.execute === "guest-get-osinfo" ? "silent" : undefined,
    );
    const timedOut = await rejection(agent.osInfo({ timeoutMs: 20 }));
    expect(TimeoutError.isInstance(timedOut)).toBe(true);
    expect(timedOut).toMatchObject({ operation: "guest agent guest-get-osinfo", timeoutMs: 20 });
    const controller = new AbortController();
    const pending = agent.osInfo({ signal: controller.signal });
    controller.abort(new Error("enough"));
    const aborted = await rejection(pending);
    expect(AbortError.isInstance(aborted)).toBe(true);
    expect((aborted.cause as Error).message).toBe("enough");
    peer.hangUp();
    const closed = await rejection(agent.ping());
    expect(ClosedError.isInstance(closed)).toBe(true);
    expect(closed).toBeInstanceOf(GuestAgentClosedError);
    expect(closed).toMatchObject({ name: "GuestAgentClosedError", code: "ERR_QGA_CLOSED" });
  });

  test("await using closes the client and its stream", async ({ agents }) => {
    let peer: FakeAgent;
    {
      const pair = await agents.connected();
      peer = pair.peer;
      await using agent = pair.agent;
      await agent.ping();
    }
    expect(peer.destroyed).toBe(true);
  });
});

/** A handler whose `guest-get-osinfo` answers with `bytes` of `a` without a newline, 1 MiB at a time. */
function flooding(bytes: number, afterwards: "answer" | "hang", onChunk: () => void) {
  let flood: Promise<void> | undefined;
  const handler = (request: { execute: string }, fake: FakeAgent) => {
    if (request.execute !== "guest-get-osinfo") return undefined;
    // Busy writing its answer: the agent reads nothing else meanwhile.
    fake.running = false;
    flood = (async () => {
      for (let sent = 0; sent < bytes; sent += MiB) {
        fake.send(Buffer.alloc(MiB, 0x61)); // fresh memory each time, as a socket delivers it
        await nextTurn();
        onChunk();
      }
      if (afterwards === "answer") fake.start();
    })();
    return "silent" as const;
  };
  return { handler, done: () => flood };
}

describe("guest agent: replies longer than maxReplyBytes", () => {
  test("a 200 MiB reply without a newline: ERR_QGA_PROTOCOL for the call, bounded memory, back in step after", async ({
    agents,
  }) => {
    const baseline = retainedBufferBytes();
    let peak = 0;
    let chunks = 0;
    const { handler, done } = flooding(200 * MiB, "answer", () => {
      if (++chunks % 8 === 0) peak = Math.max(peak, retainedBufferBytes() - baseline);
    });
    const { agent } = await agents.connected(handler); // the default cap: 48 MiB
    const error = await rejection(agent.osInfo());
    expect(error).toBeInstanceOf(GuestAgentProtocolError);
    expect(error).toMatchObject({
      code: "ERR_QGA_PROTOCOL",
      received: expect.stringMatching(/^a{200}…$/),
      cause: { code: "ERR_LINE_TOO_LONG", maxLineBytes: 48 * MiB },
    });
    await done();
    expect(chunks).toBe(200);
    // What it held at most: about one over-long line (48 MiB), never the flood.
    expect(peak).toBeLessThan(80 * MiB);
    // The agent answered the resync once it was done: the client goes on.
    await agent.ping({ timeoutMs: 10_000 });
    expect(agent.isClosed).toBe(false);
  });

  test("when the agent does not get back in step, the client closes with ERR_QGA_PROTOCOL", async ({
    agents,
  }) => {
    const { handler, done } = flooding(2 * MiB, "hang", () => {});
    const { agent } = await agents.connected(handler, {
      maxReplyBytes: 1 * MiB,
      fileChunkBytes: 64 * 1024,
      commandTimeoutMs: 300,
    });
    expect((await rejection(agent.osInfo({ timeoutMs: 10_000 }))).code).toBe("ERR_QGA_PROTOCOL");
    await done();
    const info = await agent.closed;
    expect(info.by).toBe("error");
    expect(info.error).toBeInstanceOf(GuestAgentProtocolError);
    expect((info.error as GuestAgentProtocolError).cause).toMatchObject({ code: "ERR_TIMEOUT" });
    expect((await rejection(agent.ping())).code).toBe("ERR_QGA_CLOSED");
  });
});

describe("guest agent: diagnostics", () => {
  test("connect, each agent command and run are published on qemu-kvm:control", async ({
    agents,
  }) => {
    const messages: OperationMessage[] = [];
    const listener = (message: unknown) => messages.push(message as OperationMessage);
    subscribe("qemu-kvm:control", listener);
    onTestFinished(() => {
      unsubscribe("qemu-kvm:control", listener);
    });
    const { agent } = await agents.connected((request) => {
      if (request.execute === "guest-exec") return { return: { pid: 5 } };
      if (request.execute === "guest-exec-status") return { return: { exited: true, exitcode: 0 } };
      return undefined;
    });
    await agent.ping();
    await agent.run("true");
    await rejection(agent.execute("guest-frobnicate"));
    const seen = messages.map(({ operation, phase, target }) => `${operation} ${target} ${phase}`);
    expect(seen).toEqual([
      "connect guest agent start",
      "connect guest agent end",
      "qga guest-ping start",
      "qga guest-ping end",
      "run true start",
      "qga guest-exec start",
      "qga guest-exec end",
      "qga guest-exec-status start",
      "qga guest-exec-status end",
      "run true end",
      "qga guest-frobnicate start",
      "qga guest-frobnicate error",
    ]);
  });
});
