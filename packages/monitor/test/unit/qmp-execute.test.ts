import { describe, expect, test, vi } from "vitest";
import {
  AbortError,
  type CallOptions,
  InvalidArgumentError,
  QmpCommandError,
  TimeoutError,
} from "../../src/index.js";
import { connected } from "../helpers/fake-qmp-peer.js";

describe("execute", () => {
  test("matches replies to commands by id, whatever their order", async () => {
    const { client, peer } = await connected();
    const calls = [0, 1, 2, 3, 4].map((n) =>
      client.executeUnchecked("qom-get", { path: `/p${n}` }),
    );
    const requests = await Promise.all(calls.map(() => peer.nextRequest()));
    for (const request of [...requests].reverse())
      peer.reply(request.id, `value of ${request.arguments?.path}`);
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4].map((n) => `value of /p${n}`));
    client.destroy();
  });

  test("turns a QMP error into QmpCommandError with its class and description", async () => {
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

  test("times out with ERR_TIMEOUT, drops the late reply, and carries on", async () => {
    const { client, peer } = await connected();
    const slow = client.execute("query-status", undefined, { timeoutMs: 20 });
    const { id } = await peer.nextRequest();
    const error = await slow.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "ERR_TIMEOUT", operation: "query-status", timeoutMs: 20 });
    peer.reply(id, { status: "late" });
    const next = client.execute("query-name");
    peer.reply((await peer.nextRequest()).id, { name: "ok" });
    await expect(next).resolves.toEqual({ name: "ok" });
    client.destroy();
  });

  test("aborts with ERR_ABORTED (distinct from a timeout), cause = signal.reason", async () => {
    const { client, peer } = await connected();
    const controller = new AbortController();
    const pending = client.execute("query-status", undefined, { signal: controller.signal });
    await peer.nextRequest();
    const reason = new Error("user gave up");
    controller.abort(reason);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toMatchObject({ code: "ERR_ABORTED", cause: reason });
    // Already aborted: rejected without sending anything.
    const before = peer.lines.length;
    await expect(
      client.execute("query-status", undefined, { signal: controller.signal }),
    ).rejects.toMatchObject({ code: "ERR_ABORTED" });
    expect(peer.lines.length).toBe(before);
    client.destroy();
  });

  test("rejects arguments QEMU would answer without an id, synchronously", async () => {
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
      expect(() => client.executeUnchecked("qom-set", args as Record<string, unknown>)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", name: "InvalidArgumentError" }),
      );
    }
    expect(peer.lines.length).toBe(1); // only qmp_capabilities was sent
    // Members that are undefined are omitted, as JSON.stringify does.
    const ok = client.executeUnchecked("qom-get", { path: "/machine", property: undefined });
    const request = await peer.nextRequest();
    expect(request.arguments).toEqual({ path: "/machine" });
    peer.reply(request.id);
    await ok;
    client.destroy();
  });

  test("sends commands issued in one tick in a single write", async () => {
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

  test("names the path of arguments JSON cannot carry, and the command", async () => {
    const { client } = await connected();
    const error = catchSync(() => client.executeUnchecked("qom-set", { list: [1, Number.NaN] }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: "args.list[1]" });
    expect((error as Error).message).toContain("qom-set");
    client.destroy();
  });

  test("refuses a command that is not a non-empty string, and unknown options", async () => {
    const { client, peer } = await connected();
    for (const command of ["", 42, undefined])
      expect(catchSync(() => client.executeUnchecked(command as string))).toMatchObject({
        code: "ERR_INVALID_ARGUMENT",
        field: "command",
      });
    expect(
      catchSync(() =>
        client.execute("query-status", undefined, { timeout: 5 } as unknown as CallOptions),
      ),
    ).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: "options.timeout" });
    expect(
      catchSync(() =>
        client.execute("query-status", undefined, { signal: "no" } as unknown as CallOptions),
      ),
    ).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: "options.signal" });
    expect(peer.lines.length).toBe(1); // only qmp_capabilities was sent
    client.destroy();
  });
});

describe("the deadline rule", () => {
  test("timeoutMs 0: ERR_TIMEOUT at once, and nothing is sent", async () => {
    const { client, peer } = await connected();
    await expect(client.execute("query-status", undefined, { timeoutMs: 0 })).rejects.toMatchObject(
      { code: "ERR_TIMEOUT", operation: "query-status", timeoutMs: 0 },
    );
    expect(peer.lines.length).toBe(1); // only qmp_capabilities
    // The connection is fine: the next command goes out and is answered.
    const next = client.execute("query-name");
    peer.reply((await peer.nextRequest()).id, { name: "vm" });
    await expect(next).resolves.toEqual({ name: "vm" });
    client.destroy();
  });

  test("a negative or NaN timeoutMs: ERR_INVALID_ARGUMENT, thrown before sending", async () => {
    const { client, peer } = await connected();
    for (const timeoutMs of [-1, Number.NaN, Number.NEGATIVE_INFINITY]) {
      const error = catchSync(() => client.execute("query-status", undefined, { timeoutMs }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: "ERR_INVALID_ARGUMENT", field: "options.timeoutMs" });
    }
    expect(peer.lines.length).toBe(1);
    client.destroy();
  });

  test("Infinity: no deadline, even past the client's commandTimeoutMs", async () => {
    const { client, peer } = await connected({ commandTimeoutMs: 50 });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const unbounded = client.execute("query-status", undefined, { timeoutMs: Infinity });
      const bounded = client.execute("query-name");
      const [first, second] = [await peer.nextRequest(), await peer.nextRequest()];
      vi.advanceTimersByTime(10 * 2 ** 31);
      await expect(bounded).rejects.toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 50 });
      peer.reply(second.id); // late: dropped
      peer.reply(first.id, { status: "running" });
      await expect(unbounded).resolves.toEqual({ status: "running" });
    } finally {
      vi.useRealTimers();
      client.destroy();
    }
  });

  test("a timeoutMs above 2^31-1 ms is honoured in full, not clamped", async () => {
    const { client, peer } = await connected();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let settled = false;
      const long = client.execute("query-status", undefined, { timeoutMs: 2 ** 31 + 1_000 });
      long
        .catch(() => {})
        .finally(() => {
          settled = true;
        });
      await peer.nextRequest();
      vi.advanceTimersByTime(2 ** 31);
      await new Promise((resolve) => setImmediate(resolve)); // every microtask has run
      expect(settled).toBe(false);
      vi.advanceTimersByTime(1_000);
      await expect(long).rejects.toMatchObject({ code: "ERR_TIMEOUT", timeoutMs: 2 ** 31 + 1_000 });
    } finally {
      vi.useRealTimers();
      client.destroy();
    }
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
