import { describe, expect, test } from "vitest";
import {
  type EventsOptions,
  InvalidArgumentError,
  QmpClosedError,
  type QmpEvent,
  QmpEventOverflowError,
} from "../../src/index.js";
import { connected } from "../helpers/fake-qmp-peer.js";

describe("events", () => {
  test("delivers every event to every subscriber, in order", async () => {
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

  test("ends a slow subscriber with ERR_QMP_EVENT_OVERFLOW at the point of loss; others unaffected", async () => {
    const { client, peer } = await connected();
    const slow = client.events(undefined, { bufferSize: 3 });
    const fast = client.events(undefined, { bufferSize: 3 });
    const seenByFast: number[] = [];
    const fastDone = (async () => {
      for await (const event of fast) seenByFast.push((event.data as { n?: number }).n!);
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
      for await (const event of slow) seenBySlow.push((event.data as { n?: number }).n!);
    })().catch((e: unknown) => e);
    expect(seenBySlow).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(QmpEventOverflowError);
    expect(error).toMatchObject({
      code: "ERR_QMP_EVENT_OVERFLOW",
      bufferSize: 3,
      lostEvent: "TICK",
    });
  });

  test("answers concurrent next() calls in order", async () => {
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

  test("subscribes at events(), not at the first next()", async () => {
    const { client, peer } = await connected();
    const stream = client.events("STOP");
    peer.event("STOP");
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.queued).toBe(1);
    expect((await stream.next()).value?.event).toBe("STOP");
    client.destroy();
  });

  test("ends on abort with ERR_ABORTED, and on break without error", async () => {
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

  test("throws ERR_QMP_CLOSED from an iterator when the connection ends by an error", async () => {
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

  test("on() calls a listener synchronously until unsubscribed", async () => {
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
  test("catches an event that arrives before the reply of the command that caused it", async () => {
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

  test("rejects on timeout, abort, a throwing predicate, and close", async () => {
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

  test("the deadline rule: 0 expires at once, Infinity waits, negative or NaN is refused", async () => {
    const { client, peer } = await connected();
    await expect(client.waitForEvent("STOP", undefined, { timeoutMs: 0 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      operation: "waitForEvent STOP",
      timeoutMs: 0,
    });
    for (const timeoutMs of [-5, Number.NaN])
      expect(() => client.waitForEvent("STOP", undefined, { timeoutMs })).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "options.timeoutMs" }),
      );
    const unbounded = client.waitForEvent("STOP", undefined, { timeoutMs: Infinity });
    peer.event("STOP");
    await expect(unbounded).resolves.toMatchObject({ event: "STOP" });
    client.destroy();
  });
});

describe("arguments", () => {
  test("a listener that is not a function, a bad filter or bufferSize, an unknown option: ERR_INVALID_ARGUMENT", async () => {
    const { client } = await connected();
    expect(() => client.on("STOP", "nope" as unknown as () => void)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "listener" }),
    );
    expect(() => client.events(42 as unknown as "STOP")).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "filter" }),
    );
    for (const bufferSize of [0, -1, 1.5, Number.NaN])
      expect(() => client.events(undefined, { bufferSize })).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "options.bufferSize" }),
      );
    expect(() => client.events(undefined, { buffer: 3 } as EventsOptions)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "options.buffer" }),
    );
    expect(() => client.waitForEvent("STOP", "yes" as unknown as () => boolean)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "predicate" }),
    );
    expect(InvalidArgumentError.isInstance(catchSync(() => client.on("STOP", null as never)))).toBe(
      true,
    );
    client.destroy();
  });
});

function catchSync(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a synchronous throw");
}
