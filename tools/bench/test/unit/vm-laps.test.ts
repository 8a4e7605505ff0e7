import { describe, expect, test } from "vitest";
import {
  formatLaps,
  medianLaps,
  Stopwatch,
  slowestLaps,
  stopLaps,
  timelineLaps,
} from "../../src/benchmarks/vm/laps.js";

describe("timelineLaps", () => {
  test("each phase lasts until the next begins, the last until the total", () => {
    const laps = timelineLaps(
      [
        { phase: "leases", elapsedMs: 0, detail: "opening the pool" },
        { phase: "runtime-dir", elapsedMs: 15 },
        { phase: "leases", elapsedMs: 16 },
        { phase: "launch", elapsedMs: 30 },
        { phase: "login", elapsedMs: 90 },
      ],
      1900,
    );
    expect(laps).toEqual([
      { label: "leases (opening the pool)", ms: 15 },
      { label: "runtime-dir", ms: 1 },
      { label: "leases", ms: 14 },
      { label: "launch", ms: 60 },
      { label: "login", ms: 1810 },
    ]);
  });
  test("no timeline, no laps", () => {
    expect(timelineLaps([], 5)).toEqual([]);
  });
});

describe("medianLaps", () => {
  test("per label, a repeated label matched by occurrence, in first-seen order", () => {
    const median = medianLaps([
      [
        { label: "leases", ms: 10 },
        { label: "launch", ms: 50 },
        { label: "leases", ms: 3 },
      ],
      [
        { label: "leases", ms: 30 },
        { label: "launch", ms: 70 },
        { label: "leases", ms: 5 },
      ],
      [
        { label: "leases", ms: 20 },
        { label: "launch", ms: 60 },
        { label: "leases", ms: 4 },
        { label: "retry", ms: 100 },
      ],
    ]);
    expect(median).toEqual([
      { label: "leases", ms: 20 },
      { label: "launch", ms: 60 },
      { label: "leases", ms: 4 },
      { label: "retry", ms: 100 },
    ]);
  });
  test("no samples, no laps", () => {
    expect(medianLaps([])).toEqual([]);
  });
});

test("formatLaps: labels and whole ms", () => {
  expect(
    formatLaps([
      { label: "spawn", ms: 44.6 },
      { label: "login", ms: 107.2 },
    ]),
  ).toBe("spawn 45, login 107");
});

test("stopLaps: before the stages, each stage, the cleanup after QEMU exited", () => {
  const laps = stopLaps(
    {
      durationMs: 2100,
      stages: [
        { stage: "guest", outcome: "timeout", durationMs: 1000 },
        { stage: "quit", outcome: "stopped", durationMs: 1095 },
      ],
    },
    2112,
  );
  expect(laps).toEqual([
    { label: "before the stages", ms: 5 },
    { label: "guest (timeout)", ms: 1000 },
    { label: "quit (stopped)", ms: 1095 },
    { label: "cleanup after exit", ms: 12 },
  ]);
});

test("slowestLaps: the sample with the largest total", () => {
  const fast = [{ label: "spawn", ms: 300 }];
  const slow = [
    { label: "spawn", ms: 200 },
    { label: "qmp", ms: 150 },
  ];
  expect(slowestLaps([fast, slow, fast])).toEqual(slow);
  expect(slowestLaps([])).toEqual([]);
});

test("Stopwatch: each lap from the previous one, in order, together the time since it was made", async () => {
  const before = performance.now();
  const watch = new Stopwatch();
  await new Promise((resolve) => setTimeout(resolve, 20));
  watch.lap("first");
  watch.lap("second");
  const after = performance.now();
  expect(watch.laps.map((lap) => lap.label)).toEqual(["first", "second"]);
  expect(watch.laps[0]!.ms).toBeGreaterThanOrEqual(15);
  expect(watch.laps[1]!.ms).toBeGreaterThanOrEqual(0);
  expect(watch.laps[0]!.ms + watch.laps[1]!.ms).toBeLessThanOrEqual(after - before);
});
