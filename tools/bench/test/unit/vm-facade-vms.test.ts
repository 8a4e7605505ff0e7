import { expect, test } from "vitest";
import { throwFirstFailure } from "../../src/benchmarks/vm/facade-vms.js";

test("throwFirstFailure: the first rejection's reason, nothing when all succeeded", async () => {
  const first = new Error("first");
  const results = await Promise.allSettled([
    Promise.resolve(1),
    Promise.reject(first),
    Promise.reject(new Error("second")),
  ]);
  expect(() => throwFirstFailure(results)).toThrow(first);
  expect(() => throwFirstFailure(results.slice(0, 1))).not.toThrow();
  expect(() => throwFirstFailure([])).not.toThrow();
});
