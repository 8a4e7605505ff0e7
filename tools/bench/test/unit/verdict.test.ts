import { describe, expect, test } from "vitest";
import {
  judge,
  matchByName,
  pairedNoise,
  SLOWER_THRESHOLD,
  sharedDirection,
} from "../../src/compare/verdict.js";
import { betterOf } from "../../src/harness.js";

describe("betterOf: the direction of a case", () => {
  test("durations are better lower, rates higher", () => {
    for (const unit of ["ns", "µs", "us", "ms", "s"]) expect(betterOf({ unit })).toBe("lower");
    for (const unit of ["ops/s", "MiB/s", "leases/s"]) expect(betterOf({ unit })).toBe("higher");
  });
  test("an explicit better wins over the unit's default", () => {
    expect(betterOf({ unit: "ms", better: "higher" })).toBe("higher");
    expect(betterOf({ unit: "bytes", better: "lower" })).toBe("lower");
  });
  test("a unit with no default direction has none", () => {
    expect(betterOf({ unit: "bytes" })).toBeUndefined();
    expect(betterOf({ unit: "/s" })).toBeUndefined();
  });
});

describe("matchByName", () => {
  test("pairs entries by name in the after order and lists the others", () => {
    const before = [
      { name: "a", v: 1 },
      { name: "gone", v: 2 },
      { name: "b", v: 3 },
    ];
    const after = [
      { name: "b", v: 4 },
      { name: "new", v: 5 },
      { name: "a", v: 6 },
    ];
    const matched = matchByName(before, after);
    expect(matched.both).toEqual([
      { name: "b", before: before[2], after: after[0] },
      { name: "a", before: before[0], after: after[2] },
    ]);
    expect(matched.onlyBefore).toEqual([before[1]]);
    expect(matched.onlyAfter).toEqual([after[1]]);
  });
  test("a name twice on one side is an error, not a silent pick", () => {
    expect(() => matchByName([{ name: "a" }, { name: "a" }], [])).toThrow(
      "before: two entries are named a",
    );
    expect(() => matchByName([], [{ name: "a" }, { name: "a" }])).toThrow(
      "after: two entries are named a",
    );
  });
});

describe("sharedDirection", () => {
  test("the same unit: its direction", () => {
    expect(sharedDirection({ unit: "ms" }, { unit: "ms" })).toEqual({ better: "lower" });
    expect(
      sharedDirection({ unit: "x", better: "higher" }, { unit: "x", better: "higher" }),
    ).toEqual({
      better: "higher",
    });
  });
  test("a changed unit or direction, or none at all, is not comparable", () => {
    expect(sharedDirection({ unit: "ms" }, { unit: "µs" })).toEqual({
      reason: "unit changed: ms → µs",
    });
    expect(sharedDirection({ unit: "ms" }, { unit: "ms", better: "higher" })).toEqual({
      reason: "direction changed: lower → higher is better",
    });
    expect(sharedDirection({ unit: "bytes" }, { unit: "bytes" })).toMatchObject({
      reason: expect.stringContaining("no default direction"),
    });
  });
});

describe("judge", () => {
  test("the threshold is 5 %", () => {
    expect(SLOWER_THRESHOLD).toBe(0.05);
  });
  test("a duration more than 5 % higher is slower; more than 5 % lower is faster", () => {
    expect(judge(100, 106, "lower")).toMatchObject({ verdict: "slower", ratio: 1.06 });
    expect(judge(100, 106, "lower").slowdown).toBeCloseTo(0.06);
    expect(judge(100, 94, "lower")).toMatchObject({ verdict: "faster" });
    expect(judge(100, 104, "lower")).toMatchObject({ verdict: "same" });
    expect(judge(100, 96, "lower")).toMatchObject({ verdict: "same" });
  });
  test("a rate more than 5 % lower is slower; more than 5 % higher is faster", () => {
    expect(judge(1000, 940, "higher")).toMatchObject({ verdict: "slower", ratio: 0.94 });
    expect(judge(1000, 940, "higher").slowdown).toBeCloseTo(0.06);
    expect(judge(1000, 1060, "higher")).toMatchObject({ verdict: "faster" });
    expect(judge(1000, 1060, "higher").slowdown).toBeCloseTo(-0.06);
    expect(judge(1000, 960, "higher")).toMatchObject({ verdict: "same" });
  });
  test("exactly at the threshold is still the same; the threshold can be set", () => {
    expect(judge(100, 105, "lower").verdict).toBe("same");
    expect(judge(100, 95, "lower").verdict).toBe("same");
    expect(judge(1000, 950, "higher").verdict).toBe("same");
    expect(judge(100, 105, "lower", 0.01).verdict).toBe("slower");
  });
  test("a median that is zero, negative or not a number cannot be judged", () => {
    expect(() => judge(0, 1, "lower")).toThrow(RangeError);
    expect(() => judge(1, Number.NaN, "higher")).toThrow("after median must be a positive number");
    expect(() => judge(-1, 1, "higher")).toThrow(RangeError);
  });
});

describe("pairedNoise", () => {
  test("steady pairs have no noise, whatever the overall drift", () => {
    // The machine slows down over the run, but each pair moves together.
    expect(pairedNoise([10, 20, 40, 80], [11, 22, 44, 88])).toBeCloseTo(0);
  });
  test("half the interquartile range of the paired ratios, over their median", () => {
    // Ratios 0.8, 1.0, 1.2, 1.4, 1.6: quartiles 1.0 and 1.4, median 1.2.
    expect(pairedNoise([10, 10, 10, 10, 10], [8, 10, 12, 14, 16])).toBeCloseTo(0.2 / 1.2);
  });
  test("no samples is an error", () => {
    expect(() => pairedNoise([], [])).toThrow(RangeError);
  });
});
