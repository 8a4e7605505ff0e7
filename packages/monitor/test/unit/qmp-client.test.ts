import { describe, expect, it } from "vitest";
import {
  connectQmp,
  MigrationError,
  MonitorAbortError,
  MonitorTimeoutError,
  QmpClosedError,
  QmpCommandError,
  type QmpEvent,
  QmpEventOverflowError,
} from "../../src/index.js";
import { connected, FakePeer } from "./fake-peer.js";

describe("execute", () => {
  it("matches replies to commands by id, whatever their order", async () => {
    const { client, peer } = await connected();
    const calls = [0, 1, 2, 3, 4].map((n) => client.execute("qom-get", { path: `/p${n}` }));
    const requests = await Promise.all(calls.map(() => peer.nextRequest()));
    for (const request of [...requests].reverse())
      peer.reply(request.id, `value of ${request.arguments?.path}`);
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4].map((n) => `value of /p${n}`));
    client.destroy();
  });

  it("turns a QMP error into QmpCommandError with its class and description", async () => {
    const { client, peer } = await connected();
    const pending = client.execute("device_del", { id: "nope" });
    const { id } = await peer.nextRequest();
    peer.sendMessage({ id, error: { class: "DeviceNotFound", desc: "Device 'nope' not found" } });
    const error = (await pending.catch((e: unknown) => e)) as QmpCommandError;
    expect(error).toBeInstanceOf(QmpCommandError);
    expect(error).toMatchObject({
      code: "ERR_QMP_COMMAND",
      command: "device_del",
      errorClass: "DeviceNotFound",
      description: "Device 'nope' not found",
    });
    client.destroy();
  });

  it("times out with ERR_TIMEOUT, drops the late reply, and carries on", async () => {
    const { client, peer } = await connected();
    const slow = client.execute("query-status", undefined, { timeoutMs: 20 });
    const { id } = await peer.nextRequest();
    const error = await slow.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MonitorTimeoutError);
    expect(error).toMatchObject({ code: "ERR_TIMEOUT", operation: "query-status", timeoutMs: 20 });
    peer.reply(id, { status: "late" });
    const next = client.execute("query-name");
    peer.reply((await peer.nextRequest()).id, { name: "ok" });
    await expect(next).resolves.toEqual({ name: "ok" });
    client.destroy();
  });

  it("aborts with ERR_ABORTED (distinct from a timeout), cause = signal.reason", async () => {
    const { client, peer } = await connected();
    const controller = new AbortController();
    const pending = client.execute("query-status", undefined, { signal: controller.signal });
    await peer.nextRequest();
    const reason = new Error("user gave up");
    controller.abort(reason);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MonitorAbortError);
    expect(error).toMatchObject({ code: "ERR_ABORTED", cause: reason });
    // Already aborted: rejected without sending anything.
    const before = peer.lines.length;
    await expect(
      client.execute("query-status", undefined, { signal: controller.signal }),
    ).rejects.toMatchObject({ code: "ERR_ABORTED" });
    expect(peer.lines.length).toBe(before);
    client.destroy();
  });

  it("rejects arguments QEMU would answer without an id, synchronously", async () => {
    const { client, peer } = await connected();
    const deep: Record<string, unknown> = {};
    let node = deep;
    for (let i = 0; i < 1100; i++) {
      const child = {};
      node.x = child;
      node = child;
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const args of [
      { path: "\ud800" },
      { value: Number.NaN },
      { value: 1n },
      { list: [1, undefined] },
      deep,
      cyclic,
    ]) {
      expect(() => client.execute("qom-set", args as Record<string, unknown>)).toThrow(TypeError);
    }
    expect(peer.lines.length).toBe(1); // only qmp_capabilities was sent
    // Members that are undefined are omitted, as JSON.stringify does.
    const ok = client.execute("qom-get", { path: "/machine", property: undefined });
    const request = await peer.nextRequest();
    expect(request.arguments).toEqual({ path: "/machine" });
    peer.reply(request.id);
    await ok;
    client.destroy();
  });

  it("sends commands issued in one tick in a single write", async () => {
    const { client, peer } = await connected();
    const batches: number[] = [];
    peer._writev = (chunks, callback) => {
      batches.push(chunks.length);
      for (const { chunk } of chunks) peer._write(chunk as Buffer, "utf8", () => {});
      callback();
    };
    const calls = Array.from({ length: 100 }, () => client.execute("query-status"));
    for (let i = 0; i < 100; i++) peer.reply((await peer.nextRequest()).id);
    await Promise.all(calls);
    expect(batches).toEqual([100]);
    client.destroy();
  });
});

describe("events", () => {
  it("delivers every event to every subscriber, in order", async () => {
    const { client, peer } = await connected();
    const all = client.events();
    const stops = client.events("STOP");
    const either = client.events(["STOP", "RESUME"]);
    const predicate = client.events((event) => event.event.startsWith("DEVICE"));
    peer.event("STOP");
    peer.event("RESUME");
    peer.event("DEVICE_DELETED", { device: "n", path: "/machine/peripheral/n" });
    peer.event("STOP");
    peer.hangUp();
    const names = async (stream: AsyncIterable<QmpEvent>) => {
      const out: string[] = [];
      for await (const event of stream) out.push(event.event);
      return out;
    };
    expect(await names(all)).toEqual(["STOP", "RESUME", "DEVICE_DELETED", "STOP"]);
    expect(await names(stops)).toEqual(["STOP", "STOP"]);
    expect(await names(either)).toEqual(["STOP", "RESUME", "STOP"]);
    expect(await names(predicate)).toEqual(["DEVICE_DELETED"]);
  });

  it("ends a slow subscriber with ERR_QMP_EVENT_OVERFLOW at the point of loss; others unaffected", async () => {
    const { client, peer } = await connected();
    const slow = client.events(undefined, { bufferSize: 3 });
    const fast = client.events(undefined, { bufferSize: 3 });
    const seenByFast: number[] = [];
    const fastDone = (async () => {
      for await (const event of fast) seenByFast.push(event.data.n as number);
    })();
    for (let n = 1; n <= 10; n++) {
      peer.event("TICK", { n });
      // Let the fast consumer keep up (one event per turn of the event loop).
      await new Promise((resolve) => setImmediate(resolve));
    }
    peer.hangUp();
    await fastDone;
    expect(seenByFast).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const seenBySlow: number[] = [];
    const error = await (async () => {
      for await (const event of slow) seenBySlow.push(event.data.n as number);
    })().catch((e: unknown) => e);
    expect(seenBySlow).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(QmpEventOverflowError);
    expect(error).toMatchObject({
      code: "ERR_QMP_EVENT_OVERFLOW",
      bufferSize: 3,
      lostEvent: "TICK",
    });
  });

  it("answers concurrent next() calls in order", async () => {
    const { client, peer } = await connected();
    const stream = client.events();
    const [a, b, c] = [stream.next(), stream.next(), stream.next()];
    peer.event("STOP");
    peer.event("RESUME");
    peer.hangUp();
    expect((await a).value?.event).toBe("STOP");
    expect((await b).value?.event).toBe("RESUME");
    expect(await c).toEqual({ value: undefined, done: true });
  });

  it("subscribes at events(), not at the first next()", async () => {
    const { client, peer } = await connected();
    const stream = client.events("STOP");
    peer.event("STOP");
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.queued).toBe(1);
    expect((await stream.next()).value?.event).toBe("STOP");
    client.destroy();
  });

  it("ends on abort with ERR_ABORTED, and on break without error", async () => {
    const { client, peer } = await connected();
    const controller = new AbortController();
    const aborted = client.events(undefined, { signal: controller.signal });
    const next = aborted.next();
    controller.abort(new Error("enough"));
    await expect(next).rejects.toMatchObject({ code: "ERR_ABORTED" });
    expect(await aborted.next()).toEqual({ value: undefined, done: true });

    const already = client.events("STOP", { signal: AbortSignal.abort() });
    await expect(already.next()).rejects.toMatchObject({ code: "ERR_ABORTED" });

    const broken = client.events();
    peer.event("STOP");
    for await (const _event of broken) break;
    expect(await broken.next()).toEqual({ value: undefined, done: true });
    client.destroy();
  });

  it("throws ERR_QMP_CLOSED from an iterator when the connection ends by an error", async () => {
    const { client, peer } = await connected();
    const stream = client.events();
    peer.event("STOP");
    await new Promise((resolve) => setImmediate(resolve));
    client.destroy(new Error("boom"));
    expect((await stream.next()).value?.event).toBe("STOP");
    await expect(stream.next()).rejects.toMatchObject({
      code: "ERR_QMP_CLOSED",
      cause: { message: "boom" },
    });
  });

  it("on() calls a listener synchronously until unsubscribed", async () => {
    const { client, peer } = await connected();
    const seen: string[] = [];
    const off = client.on(["STOP", "RESUME"], (event) => seen.push(event.event));
    const tail = client.events("POWERDOWN");
    peer.event("STOP");
    peer.event("SHUTDOWN");
    peer.event("RESUME");
    peer.event("POWERDOWN");
    await tail.next();
    expect(seen).toEqual(["STOP", "RESUME"]);
    off();
    peer.event("STOP");
    peer.event("POWERDOWN");
    await tail.next();
    expect(seen).toEqual(["STOP", "RESUME"]);
    client.destroy();
  });
});

describe("waitForEvent", () => {
  it("catches an event that arrives before the reply of the command that caused it", async () => {
    const { client, peer } = await connected();
    const deleted = client.waitForEvent("DEVICE_DELETED", (event) => event.data.device === "kbd");
    const command = client.execute("device_del", { id: "kbd" });
    const { id } = await peer.nextRequest();
    peer.event("DEVICE_DELETED", { path: "/machine/peripheral/other" });
    peer.event("DEVICE_DELETED", { device: "kbd", path: "/machine/peripheral/kbd" });
    peer.reply(id);
    await command;
    expect((await deleted).data).toEqual({ device: "kbd", path: "/machine/peripheral/kbd" });
    client.destroy();
  });

  it("rejects on timeout, abort, a throwing predicate, and close", async () => {
    const { client, peer } = await connected();
    await expect(client.waitForEvent("STOP", undefined, { timeoutMs: 10 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      operation: "waitForEvent STOP",
    });
    const controller = new AbortController();
    const aborted = client.waitForEvent("STOP", undefined, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: "ERR_ABORTED" });
    const throwing = client.waitForEvent("STOP", () => {
      throw new RangeError("bad predicate");
    });
    peer.event("STOP");
    await expect(throwing).rejects.toBeInstanceOf(RangeError);
    const closed = client.waitForEvent("STOP");
    peer.hangUp();
    await expect(closed).rejects.toBeInstanceOf(QmpClosedError);
    await expect(client.waitForEvent("STOP")).rejects.toMatchObject({ code: "ERR_QMP_CLOSED" });
  });
});

describe("lifecycle", () => {
  it("rejects every pending call and wait at once when QEMU hangs up", async () => {
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
  });

  it("close() refuses new commands, lets those in flight finish, then closes", async () => {
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

  it("destroy(reason) rejects everything with ERR_QMP_CLOSED caused by reason", async () => {
    const { client } = await connected();
    const pending = client.execute("query-status");
    const reason = new Error("test over");
    client.destroy(reason);
    await expect(pending).rejects.toMatchObject({ code: "ERR_QMP_CLOSED", cause: reason });
    expect(await client.closed).toEqual({ by: "error", error: reason });
  });

  it("await using closes the client", async () => {
    let peer: FakePeer;
    {
      const made = await connected();
      peer = made.peer;
      await using client = made.client;
      expect(client.isClosed).toBe(false);
    }
    expect(peer.destroyed).toBe(true);
  });

  it("connect rejects with ERR_TIMEOUT when no greeting comes, and destroys the stream", async () => {
    const peer = new FakePeer();
    await expect(connectQmp(peer, { timeoutMs: 20 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      operation: "QMP connect",
    });
    expect(peer.destroyed).toBe(true);
  });

  it("connect rejects with ERR_QMP_CLOSED when the stream ends first", async () => {
    const peer = new FakePeer();
    const connecting = connectQmp(peer);
    peer.hangUp();
    await expect(connecting).rejects.toMatchObject({ code: "ERR_QMP_CLOSED" });
  });
});

describe("helpers", () => {
  it("quit resolves when QEMU closes, whether or not the reply came first", async () => {
    for (const replyFirst of [true, false]) {
      const { client, peer } = await connected();
      const quitting = client.quit();
      const { id, execute } = await peer.nextRequest();
      expect(execute).toBe("quit");
      if (replyFirst) peer.reply(id);
      peer.hangUp();
      await expect(quitting).resolves.toBeUndefined();
      expect((await client.closed).by).toBe("peer");
    }
  });

  it("quit rejects when the client, not QEMU, closed the connection", async () => {
    const { client, peer } = await connected();
    const quitting = client.quit();
    await peer.nextRequest();
    client.destroy(new Error("shutting down the test"));
    await expect(quitting).rejects.toMatchObject({ code: "ERR_QMP_CLOSED" });
    await expect(client.quit()).rejects.toMatchObject({ code: "ERR_QMP_CLOSED" });
  });

  it("deviceDel waits for the device's own DEVICE_DELETED, not its child's", async () => {
    const { client, peer } = await connected();
    const deleting = client.deviceDel("stick");
    const { id, execute, arguments: args } = await peer.nextRequest();
    expect([execute, args]).toEqual(["device_del", { id: "stick" }]);
    peer.reply(id);
    let settled = false;
    deleting.then(() => {
      settled = true;
    });
    peer.event("DEVICE_DELETED", { path: "/machine/peripheral/stick/stick.0/legacy[0]" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    peer.event("DEVICE_DELETED", { device: "stick", path: "/machine/peripheral/stick" });
    expect((await deleting).data.device).toBe("stick");
    client.destroy();
  });

  it("deviceDel rejects with the command's error and leaves no wait behind", async () => {
    const { client, peer } = await connected();
    const deleting = client.deviceDel("nope", { timeoutMs: 50 });
    const { id } = await peer.nextRequest();
    peer.sendMessage({ id, error: { class: "DeviceNotFound", desc: "Device 'nope' not found" } });
    await expect(deleting).rejects.toMatchObject({ errorClass: "DeviceNotFound" });
  });

  it("deviceDel times out with a hint when the guest never releases the device", async () => {
    const { client, peer } = await connected();
    const deleting = client.deviceDel("nic", { timeoutMs: 30 });
    peer.reply((await peer.nextRequest()).id);
    const error = (await deleting.catch((e: unknown) => e)) as MonitorTimeoutError;
    expect(error.code).toBe("ERR_TIMEOUT");
    expect(error.message).toMatch(/guest acknowledges/);
    client.destroy();
  });

  it("maps query-status, query-cpus-fast, query-pci and query-migrate", async () => {
    const { client, peer } = await connected();
    const status = client.queryStatus();
    peer.reply((await peer.nextRequest()).id, {
      status: "prelaunch",
      singlestep: false,
      running: false,
    });
    expect(await status).toEqual({ status: "prelaunch", running: false, singlestep: false });

    const vcpus = client.queryVcpus();
    peer.reply((await peer.nextRequest()).id, [
      {
        "thread-id": 8565,
        props: { "core-id": 0, "thread-id": 0, "socket-id": 0 },
        "qom-path": "/machine/unattached/device[0]",
        "cpu-index": 0,
        target: "x86_64",
      },
    ]);
    expect(await vcpus).toEqual([
      {
        index: 0,
        threadId: 8565,
        qomPath: "/machine/unattached/device[0]",
        target: "x86_64",
        props: { "core-id": 0, "thread-id": 0, "socket-id": 0 },
      },
    ]);

    const pci = client.queryPciDevices();
    peer.reply((await peer.nextRequest()).id, [
      {
        bus: 0,
        devices: [
          {
            bus: 0,
            slot: 16,
            function: 0,
            qdev_id: "rp1",
            class_info: { class: 1540, desc: "PCI bridge" },
            id: { vendor: 6966, device: 12 },
            pci_bridge: {
              bus: { number: 0, secondary: 1, subordinate: 1 },
              devices: [
                {
                  bus: 1,
                  slot: 0,
                  function: 0,
                  qdev_id: "nic1",
                  class_info: { class: 512, desc: "Ethernet controller" },
                  id: { vendor: 6900, device: 4161, "subsystem-vendor": 6900, subsystem: 4352 },
                },
              ],
            },
          },
          {
            bus: 0,
            slot: 31,
            function: 2,
            qdev_id: "",
            class_info: { class: 262, desc: "SATA controller" },
            id: { vendor: 32902, device: 10530 },
          },
        ],
      },
    ]);
    const devices = await pci;
    expect(devices.map((d) => [d.address, d.id, d.parentBridgeAddress])).toEqual([
      ["0000:00:10.0", "rp1", undefined],
      ["0000:01:00.0", "nic1", "0000:00:10.0"],
      ["0000:00:1f.2", undefined, undefined],
    ]);
    expect(devices[0]!.bridge).toEqual({ secondaryBus: 1, subordinateBus: 1 });
    expect(devices[1]).toMatchObject({ vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x200 });

    const none = client.queryMigration();
    peer.reply((await peer.nextRequest()).id, {});
    expect(await none).toEqual({ status: "none", raw: {} });
    client.destroy();
  });

  it("waitForMigration follows MIGRATION events to completed, failed or cancelled", async () => {
    for (const final of ["completed", "failed", "cancelled"]) {
      const { client, peer } = await connected();
      const waiting = client.waitForMigration();
      peer.reply((await peer.nextRequest()).id, { status: "active" });
      const caps = await peer.nextRequest();
      expect(caps.execute).toBe("query-migrate-capabilities");
      peer.reply(caps.id, [{ capability: "events", state: true }]);
      peer.event("MIGRATION", { status: "active" });
      peer.event("MIGRATION", { status: final });
      const last = await peer.nextRequest();
      peer.reply(last.id, {
        status: final,
        "total-time": 20,
        ...(final === "failed" ? { "error-desc": "Connection refused" } : {}),
      });
      if (final === "completed") {
        await expect(waiting).resolves.toMatchObject({ status: "completed", totalTimeMs: 20 });
      } else {
        const error = await waiting.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MigrationError);
        expect(error).toMatchObject({
          code: "ERR_QMP_MIGRATION",
          status: final,
          errorDescription: final === "failed" ? "Connection refused" : undefined,
        });
      }
      client.destroy();
    }
  });

  it("waitForMigration re-reads until QEMU has recorded the final times", async () => {
    const { client, peer } = await connected();
    const waiting = client.waitForMigration();
    peer.reply((await peer.nextRequest()).id, {
      status: "completed",
      "total-time": 0,
      downtime: 0,
    });
    peer.reply((await peer.nextRequest()).id, {
      status: "completed",
      "total-time": 0,
      downtime: 0,
    });
    peer.reply((await peer.nextRequest()).id, {
      status: "completed",
      "total-time": 11,
      downtime: 3,
    });
    await expect(waiting).resolves.toMatchObject({ totalTimeMs: 11, downtimeMs: 3 });
    client.destroy();
  });

  it("waitForMigration refuses to wait blind when MIGRATION events are off", async () => {
    const { client, peer } = await connected();
    const waiting = client.waitForMigration();
    peer.reply((await peer.nextRequest()).id, { status: "active" });
    peer.reply((await peer.nextRequest()).id, [{ capability: "events", state: false }]);
    await expect(waiting).rejects.toMatchObject({ code: "ERR_QMP_MIGRATION", status: "active" });
    client.destroy();
  });
});
