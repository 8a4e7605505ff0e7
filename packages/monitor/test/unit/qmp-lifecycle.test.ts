import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { OperationMessage } from "@qemu-kvm/core";
import { describe, expect, test } from "vitest";
import { ClosedError, type ConnectQmpOptions, connectQmp, QemuKvmError } from "../../src/index.js";
import { connected, FakePeer, GREETING } from "../helpers/fake-qmp-peer.js";

describe("lifecycle", () => {
  test("rejects every pending call and wait at once when QEMU hangs up", async () => {
    const { client, peer } = await connected();
    const calls = Array.from({ length: 50 }, () => client.execute("query-status"));
    const wait = client.waitForEvent("SHUTDOWN");
    await peer.nextRequest();
    peer.hangUp();
    const results = await Promise.allSettled([...calls, wait]);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: "ERR_QMP_CLOSED" });
    }
    expect(await client.closed).toEqual({ by: "peer" });
    const [first] = results as PromiseRejectedResult[];
    expect(ClosedError.isInstance(first!.reason)).toBe(true);
    expect(QemuKvmError.isInstance(first!.reason)).toBe(true);
  });

  test("a connection reset by QEMU is the peer going away; pending calls reject with it as cause", async () => {
    const { client, peer } = await connected();
    const pending = client.execute("query-status");
    await peer.nextRequest();
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    peer.destroy(reset);
    await expect(pending).rejects.toMatchObject({ code: "ERR_QMP_CLOSED", cause: reset });
    expect(await client.closed).toEqual({ by: "peer", error: reset });
  });

  test("close() refuses new commands, lets those in flight finish, then closes", async () => {
    const { client, peer } = await connected();
    const inFlight = client.execute("query-status");
    const { id } = await peer.nextRequest();
    const closing = client.close();
    await expect(client.execute("query-name")).rejects.toMatchObject({ code: "ERR_QMP_CLOSED" });
    expect(client.isClosed).toBe(false);
    peer.reply(id, { status: "running" });
    await expect(inFlight).resolves.toEqual({ status: "running" });
    await closing;
    expect(client.isClosed).toBe(true);
    expect(peer.destroyed).toBe(true);
    expect(await client.closed).toEqual({ by: "client" });
  });

  test("destroy(reason) rejects everything with ERR_QMP_CLOSED caused by reason", async () => {
    const { client } = await connected();
    const pending = client.execute("query-status");
    const reason = new Error("test over");
    client.destroy(reason);
    await expect(pending).rejects.toMatchObject({ code: "ERR_QMP_CLOSED", cause: reason });
    expect(await client.closed).toEqual({ by: "error", error: reason });
  });

  test("await using closes the client", async () => {
    let peer: FakePeer;
    {
      const made = await connected();
      peer = made.peer;
      await using client = made.client;
      expect(client.isClosed).toBe(false);
    }
    expect(peer.destroyed).toBe(true);
  });

  test("connect rejects with ERR_TIMEOUT when no greeting comes, and destroys the stream", async () => {
    const peer = new FakePeer();
    await expect(connectQmp(peer, { timeoutMs: 20 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      operation: "QMP connect",
    });
    expect(peer.destroyed).toBe(true);
  });

  test("connect rejects with ERR_QMP_CLOSED when the stream ends first", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer);
    peer.hangUp();
    await expect(connecting).rejects.toMatchObject({ code: "ERR_QMP_CLOSED" });
  });

  test("connect with timeoutMs 0: ERR_TIMEOUT, nothing sent, the stream destroyed", async () => {
    const peer = new FakePeer();
    await expect(connectQmp(peer, { timeoutMs: 0 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      operation: "QMP connect",
      timeoutMs: 0,
    });
    expect(peer.lines).toEqual([]);
    expect(peer.destroyed).toBe(true);
  });

  test("connect with an invalid option throws ERR_INVALID_ARGUMENT and leaves the stream alone", () => {
    const peer = new FakePeer();
    const invalid: [ConnectQmpOptions, string][] = [
      [{ timeoutMs: -1 }, "options.timeoutMs"],
      [{ timeoutMs: Number.NaN }, "options.timeoutMs"],
      [{ commandTimeoutMs: -1 }, "options.commandTimeoutMs"],
      [{ eventBufferSize: 0 }, "options.eventBufferSize"],
      [{ maxLineBytes: 0 }, "options.maxLineBytes"],
      [{ timeout: 5 } as ConnectQmpOptions, "options.timeout"],
    ];
    for (const [options, field] of invalid)
      expect(() => connectQmp(peer, options)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field }),
      );
    expect(peer.destroyed).toBe(false);
    expect(peer.listenerCount("data")).toBe(0);
    peer.destroy();
  });

  test("connect with timeoutMs Infinity waits for the greeting without a deadline", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer, { timeoutMs: Infinity });
    peer.sendMessage(GREETING);
    peer.reply((await peer.nextRequest()).id);
    const client = await connecting;
    expect(client.isClosed).toBe(false);
    client.destroy();
  });

  test("connect aborts with ERR_ABORTED and destroys the stream", async () => {
    const peer = new FakePeer();
    const controller = new AbortController();
    const connecting = connectQmp(peer, { signal: controller.signal });
    controller.abort(new Error("never mind"));
    await expect(connecting).rejects.toMatchObject({ code: "ERR_ABORTED" });
    expect(peer.destroyed).toBe(true);
  });
});

describe("diagnostics", () => {
  test("qemu-kvm:monitor sees connect and each command start and end", async () => {
    const messages: OperationMessage[] = [];
    const listener = (message: unknown) => messages.push(message as OperationMessage);
    subscribe("qemu-kvm:monitor", listener);
    try {
      const { client, peer } = await connected();
      const status = client.execute("query-status");
      peer.reply((await peer.nextRequest()).id, { status: "running" });
      await status;
      const failing = client.execute("device_del", { id: "x" });
      const { id } = await peer.nextRequest();
      peer.sendMessage({ id, error: { class: "DeviceNotFound", desc: "Device 'x' not found" } });
      await failing.catch(() => {});
      client.destroy();
    } finally {
      unsubscribe("qemu-kvm:monitor", listener);
    }
    const seen = messages.map((m) => [m.operation, m.target, m.phase]);
    expect(seen).toEqual([
      ["connect", "qmp", "start"],
      ["qmp", "qmp_capabilities", "start"],
      ["qmp", "qmp_capabilities", "end"],
      ["connect", "qmp", "end"],
      ["qmp", "query-status", "start"],
      ["qmp", "query-status", "end"],
      ["qmp", "device_del", "start"],
      ["qmp", "device_del", "error"],
    ]);
    expect(messages.every((m) => m.source === "monitor")).toBe(true);
    const start = messages.find((m) => m.target === "query-status" && m.phase === "start")!;
    const end = messages.find((m) => m.target === "query-status" && m.phase === "end")!;
    expect(end.id).toBe(start.id);
    expect(end.durationMs).toBeGreaterThanOrEqual(0);
    expect(messages.at(-1)!.error).toMatchObject({ code: "ERR_QMP_COMMAND" });
  });
});
