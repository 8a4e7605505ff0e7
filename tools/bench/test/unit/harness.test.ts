import { describe, expect, test } from "vitest";
import { median, quantile, runCase } from "../../src/harness.js";

describe("quantile", () => {
  test("median of odd and even counts", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  test("p90 interpolates between the nearest ranks", () => {
    expect(quantile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9)).toBeCloseTo(91);
    expect(quantile([7], 0.9)).toBe(7);
  });
  test("no samples is an error, not NaN", () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe("runCase", () => {
  test("alternates subject and baseline and reports their ratio", async () => {
    const order: string[] = [];
    const trial = (name: string, samples: number[]) => ({
      name,
      run: async () => {
        order.push(name[0]!);
        return samples.shift()!;
      },
    });
    const result = await runCase(
      {
        name: "case",
        unit: "ms",
        runs: 4,
        warmup: 1,
        subject: trial("subject", [10, 2, 4, 6, 8]),
        baseline: trial("baseline", [1, 2, 2, 2, 2]),
      },
      new AbortController().signal,
    );
    expect(order).toEqual(["s", "b", "s", "b", "b", "s", "s", "b", "b", "s"]);
    expect(result.samples).toEqual([2, 4, 6, 8]);
    expect(result.median).toBe(5);
    expect(result.baseline).toMatchObject({ name: "baseline", median: 2 });
    expect(result.ratio).toBe(2.5);
    expect(result.runs).toBe(4);
  });

  test("without a baseline there is no ratio", async () => {
    const result = await runCase(
      { name: "alone", unit: "ops/s", runs: 3, subject: { name: "x", run: async () => 1 } },
      new AbortController().signal,
    );
    expect(result.baseline).toBeUndefined();
    expect(result.ratio).toBeUndefined();
  });

  test("stops at once when aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(
      runCase(
        { name: "x", unit: "ms", subject: { name: "x", run: async () => 1 } },
        controller.signal,
      ),
    ).rejects.toThrow("stop");
  });
});
