/**
 * The rules every call of the pool follows, through its public API on an
 * in-memory host: the deadline rule, option checks, the closed error, the
 * error family and the diagnostics channel.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { MAX_TIMER_MS, type OperationMessage } from "@qemu-kvm/core";
import { afterEach, describe, expect, test, vi } from "vitest";
import {
  ClosedError,
  InvalidArgumentError,
  openPool,
  PoolBusyError,
  type PoolOptions,
  QemuKvmError,
  TimeoutError,
} from "../../src/index.js";
import { FakeHost } from "../helpers/fake-host.js";

function open(fake: FakeHost, options: PoolOptions = {}) {
  return openPool(fake.host, { heartbeat: false, ...options });
}

/** The promise's outcome so far, without waiting for it. */
function track<T>(promise: Promise<T>) {
  const seen: { settled: boolean; error?: unknown } = { settled: false };
  promise.then(
    () => {
      seen.settled = true;
    },
    (error: unknown) => {
      seen.settled = true;
      seen.error = error;
    },
  );
  return seen;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the deadline rule", () => {
  test("timeoutMs 0: ERR_TIMEOUT at once, and nothing is started or asked", async () => {
    const fake = new FakeHost();
    await expect(open(fake, { timeoutMs: 0 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      operation: "openPool",
      timeoutMs: 0,
    });
    expect(fake.spawns).toBe(0);
    const pool = await open(fake);
    await expect(pool.leaseCpus("vm0", 1, { timeoutMs: 0 })).rejects.toMatchObject({
      code: "ERR_TIMEOUT",
      timeoutMs: 0,
    });
    await expect(pool.leasePort("vm0", "forward", { timeoutMs: 0, port: 6001 })).rejects.toSatisfy(
      (error) => TimeoutError.isInstance(error),
    );
    expect(fake.transactions).toBe(0);
    expect((await pool.leases()).owners).toEqual([]);
    await pool.close();
  });

  test("timeoutMs Infinity: no deadline", async () => {
    const fake = new FakeHost();
    const pool = await open(fake, { timeoutMs: Number.POSITIVE_INFINITY });
    expect(
      (await pool.leaseCpus("vm0", 2, { timeoutMs: Number.POSITIVE_INFINITY })).map(
        (lease) => lease.cpu,
      ),
    ).toEqual([0, 1]);
    await pool.close();
  });

  test("a negative or NaN timeoutMs is a programmer error, thrown before anything starts", async () => {
    const fake = new FakeHost();
    for (const timeoutMs of [-1, Number.NaN])
      expect(() => open(fake, { timeoutMs })).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "options.timeoutMs" }),
      );
    expect(fake.spawns).toBe(0);
    const pool = await open(fake);
    expect(() => pool.release("vm0", { timeoutMs: -5 })).toThrow(InvalidArgumentError);
    expect(() => pool.leases({ timeoutMs: Number.NaN })).toThrow(
      expect.objectContaining({ field: "options.timeoutMs" }),
    );
    expect(fake.transactions).toBe(0);
    await pool.close();
  });

  test("a timeoutMs beyond 2³¹−1 ms is honoured in full", async () => {
    const fake = new FakeHost();
    const pool = await open(fake);
    fake.holdLock();
    vi.useFakeTimers();
    const timeoutMs = MAX_TIMER_MS + 1000;
    const call = pool.leaseCpus("vm0", 1, { timeoutMs });
    const seen = track(call);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 500);
    expect(seen.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(600);
    expect(seen.error).toMatchObject({ code: "ERR_TIMEOUT", timeoutMs });
    vi.useRealTimers();
    fake.releaseLock();
    // It timed out while waiting for the lock: nothing was leased.
    expect((await pool.leases()).owners).toEqual([]);
    await pool.close();
  });

  test("an aborted signal: ERR_ABORTED with its reason, nothing asked", async () => {
    const fake = new FakeHost();
    const pool = await open(fake);
    const reason = new Error("stop");
    await expect(
      pool.leaseCpus("vm0", 1, { signal: AbortSignal.abort(reason) }),
    ).rejects.toMatchObject({ code: "ERR_ABORTED", cause: reason });
    expect(fake.transactions).toBe(0);
    await pool.close();
  });
});

describe("options and errors", () => {
  test("an unknown option of a call is refused, naming it", async () => {
    const fake = new FakeHost();
    expect(() => open(fake, { timeout: 5 } as PoolOptions)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARGUMENT", field: "options.timeout" }),
    );
    const pool = await open(fake);
    expect(() => pool.leaseCpus("vm0", 1, { timeout: 5 } as never)).toThrow(
      expect.objectContaining({ field: "options.timeout" }),
    );
    expect(() => pool.leasePort("vm0", "forward", { prot: 6000 } as never)).toThrow(
      expect.objectContaining({ field: "options.prot" }),
    );
    expect(() => pool.lease("vm0", { cpu: 1 } as never)).toThrow(
      expect.objectContaining({ field: "request.cpu" }),
    );
    expect(() => pool.leasePort("vm0", "forward", { port: 0 })).toThrow(
      expect.objectContaining({ field: "options.port" }),
    );
    await pool.close();
  });

  test("every error is of qemu-kvm's family, with a literal name", async () => {
    const fake = new FakeHost();
    const pool = await open(fake);
    await pool.leaseCpus("vm0", [1]);
    const busy = await pool.leaseCpus("vm1", [1]).catch((error: unknown) => error);
    expect(PoolBusyError.isInstance(busy)).toBe(true);
    expect(QemuKvmError.isInstance(busy)).toBe(true);
    expect(busy).toMatchObject({ name: "PoolBusyError", code: "ERR_POOL_BUSY" });
    const invalid = (() => {
      try {
        pool.leaseCpus("not a name", 1);
      } catch (error) {
        return error;
      }
    })();
    expect(QemuKvmError.isInstance(invalid)).toBe(true);
    expect(invalid).toMatchObject({ name: "InvalidArgumentError", field: "owner" });
    await pool.close();
  });

  test("a call after close(), or queued when destroy() comes, rejects with ERR_POOL_CLOSED naming it", async () => {
    const fake = new FakeHost();
    const pool = await open(fake);
    await pool.close();
    const closed = await pool.leaseCpus("vm0", 1).catch((error: unknown) => error);
    expect(ClosedError.isInstance(closed)).toBe(true);
    expect(closed).toMatchObject({
      name: "PoolClosedError",
      code: "ERR_POOL_CLOSED",
      resource: "pool",
      operation: "leaseCpus vm0",
    });
    const other = await open(fake);
    fake.holdLock();
    const first = other.leaseCpus("vm1", 1);
    const queued = other.leaseCpus("vm2", 1);
    const reason = new Error("shutting down");
    other.destroy(reason);
    await expect(first).rejects.toMatchObject({
      code: "ERR_POOL_CLOSED",
      operation: "leaseCpus vm1",
      cause: reason,
    });
    await expect(queued).rejects.toMatchObject({
      code: "ERR_POOL_CLOSED",
      operation: "leaseCpus vm2",
      cause: reason,
    });
    fake.releaseLock();
  });
});

describe("diagnostics", () => {
  test("each call is traced on qemu-kvm:pool: a start, and an end or an error", async () => {
    const messages: OperationMessage[] = [];
    const listener = (message: unknown) => messages.push(message as OperationMessage);
    subscribe("qemu-kvm:pool", listener);
    try {
      const fake = new FakeHost();
      fake.pci.set("0000:81:00.0", {});
      const pool = await open(fake);
      await pool.leasePort("vm0", "serial");
      await pool.leasePci("vm1", "0000:99:00.0").catch(() => undefined);
      await pool.transfer("vm0", { pid: 4242, startTime: 1n }).catch(() => undefined);
      await pool.release("vm0");
      await pool.leases();
      await pool.close();
    } finally {
      unsubscribe("qemu-kvm:pool", listener);
    }
    expect(messages.map((m) => [m.source, m.operation, m.target, m.phase])).toEqual([
      ["pool", "openPool", "fake-host", "start"],
      ["pool", "openPool", "fake-host", "end"],
      ["pool", "leasePort", "vm0", "start"],
      ["pool", "leasePort", "vm0", "end"],
      ["pool", "leasePci", "vm1", "start"],
      ["pool", "leasePci", "vm1", "error"],
      ["pool", "transfer", "vm0", "start"],
      ["pool", "transfer", "vm0", "error"],
      ["pool", "release", "vm0", "start"],
      ["pool", "release", "vm0", "end"],
      ["pool", "leases", undefined, "start"],
      ["pool", "leases", undefined, "end"],
      ["pool", "close", "fake-host", "start"],
      ["pool", "close", "fake-host", "end"],
    ]);
    const errors = messages.filter((m) => m.phase === "error");
    expect(errors.map((m) => (m.error as { code: string }).code)).toEqual([
      "ERR_POOL_UNKNOWN_RESOURCE",
      "ERR_POOL_HOLDER_GONE",
    ]);
    for (const m of messages.filter((m) => m.phase !== "start"))
      expect(m.durationMs).toBeGreaterThanOrEqual(0);
  });
});
