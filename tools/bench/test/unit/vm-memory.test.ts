import { describe, expect, test } from "vitest";
import {
  controllerBytes,
  exposeGc,
  perVmKiB,
  settledBytes,
} from "../../src/benchmarks/vm/memory.js";

describe("what is counted", () => {
  test("the JS heap in use plus external memory (Buffers, ArrayBuffers)", () => {
    expect(controllerBytes({ heapUsed: 1000, external: 24 })).toBe(1024);
  });
  test("growth per VM in KiB; a count that is no count is refused", () => {
    expect(perVmKiB(1_000_000, 1_000_000 + 16 * 2048, 16)).toBe(2);
    expect(perVmKiB(5000, 5000 - 1024, 1)).toBe(-1);
    expect(() => perVmKiB(0, 1, 0)).toThrow(RangeError);
    expect(() => perVmKiB(0, 1, 1.5)).toThrow(RangeError);
  });
});

test("exposeGc gives a collection without --expose-gc: garbage is no longer counted", async () => {
  const gc = exposeGc();
  expect(typeof gc).toBe("function");
  const before = await settledBytes(gc);
  let held: Buffer[] | undefined = Array.from({ length: 16 }, () => Buffer.alloc(1024 * 1024, 1));
  const holding = await settledBytes(gc);
  expect(holding - before).toBeGreaterThan(15 * 1024 * 1024);
  expect(held.length).toBe(16);
  held = undefined;
  const released = await settledBytes(gc);
  expect(holding - released).toBeGreaterThan(15 * 1024 * 1024);
});
