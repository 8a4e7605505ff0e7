import { expect, test } from "vitest";
import { compareBenchmarks } from "../../src/compare/compare-benchmarks.js";
import type { BenchCase } from "../../src/harness.js";
import { fakeBenchmark, fakeCase } from "../helpers/fake-benchmarks.js";

const signal = new AbortController().signal;

function compare(
  before: Parameters<typeof compareBenchmarks>[0]["before"],
  after: typeof before,
  log: string[] = [],
) {
  return compareBenchmarks({
    before,
    after,
    beforeLabel: "HEAD~1",
    signal,
    log: (line) => log.push(line),
  });
}

test("each case in both trees runs old and new alternately; their medians give the verdict", async () => {
  const order: string[] = [];
  const traced = (tree: string, samples: number[]): BenchCase["subject"] => ({
    name: tree,
    run: async () => {
      order.push(tree);
      return samples.shift()!;
    },
  });
  const events: string[] = [];
  const before = fakeBenchmark(
    "b",
    events,
    [{ name: "b.exec", unit: "ms", runs: 4, subject: traced("old", [10, 10, 10, 10]) }],
    { label: "old" },
  );
  const after = fakeBenchmark(
    "b",
    events,
    [
      {
        name: "b.exec",
        unit: "ms",
        runs: 4,
        subject: traced("new", [12, 12, 12, 12]),
        // A case's own baseline is not what --against compares.
        baseline: { name: "reference", run: async () => 1 },
      },
    ],
    { label: "new" },
  );
  const report = await compare([before], [after]);
  expect(order).toEqual(["new", "old", "old", "new", "new", "old", "old", "new"]);
  expect(report.compared).toHaveLength(1);
  expect(report.compared[0]).toMatchObject({
    benchmark: "b",
    name: "b.exec",
    unit: "ms",
    better: "lower",
    runs: 4,
    before: { median: 10, samples: [10, 10, 10, 10] },
    after: { median: 12, samples: [12, 12, 12, 12] },
    ratio: 1.2,
    verdict: "slower",
  });
  // This tree is set up first and torn down last; both are torn down.
  expect(events).toEqual(["setup new", "setup old", "teardown old", "teardown new"]);
});

test("runs overrides the case's own number of samples", async () => {
  const before = fakeBenchmark("b", [], [fakeCase("b.x", "ms", [1])]);
  const after = fakeBenchmark("b", [], [fakeCase("b.x", "ms", [1])]);
  const report = await compareBenchmarks({
    before: [before],
    after: [after],
    beforeLabel: "x",
    signal,
    log: () => {},
    runs: 7,
  });
  expect(report.compared[0]).toMatchObject({ runs: 7 });
  expect(report.compared[0]!.before.samples).toHaveLength(7);
  expect(report.compared[0]!.after.samples).toHaveLength(7);
});

test("cases and benchmarks in one tree only, and cases whose unit changed, are listed, not run", async () => {
  const events: string[] = [];
  const before = [
    fakeBenchmark(
      "shared",
      events,
      [
        fakeCase("shared.same", "ops/s", [100]),
        fakeCase("shared.gone", "ms", [1]),
        fakeCase("shared.unit", "ms", [1]),
      ],
      { label: "old shared" },
    ),
    fakeBenchmark("retired", events, [fakeCase("retired.x", "ms", [1])]),
  ];
  const after = [
    fakeBenchmark(
      "shared",
      events,
      [
        fakeCase("shared.same", "ops/s", [100]),
        fakeCase("shared.new", "ms", [1]),
        fakeCase("shared.unit", "µs", [1000]),
      ],
      { label: "new shared" },
    ),
    fakeBenchmark("fresh", events, [fakeCase("fresh.x", "ms", [1])]),
  ];
  const report = await compare(before, after);
  expect(report.compared.map((c) => [c.name, c.verdict])).toEqual([["shared.same", "same"]]);
  expect(report.notCompared).toEqual([
    { name: "retired", reason: "benchmark only in HEAD~1" },
    { name: "fresh", reason: "benchmark only in this tree" },
    { name: "shared.gone", reason: "case only in HEAD~1" },
    { name: "shared.new", reason: "case only in this tree" },
    { name: "shared.unit", reason: "unit changed: ms → µs" },
  ]);
  // A benchmark present in one tree only is not even set up.
  expect(events).toEqual([
    "setup new shared",
    "setup old shared",
    "teardown old shared",
    "teardown new shared",
  ]);
});

test("a failing case still tears down both setups, and its error is the one thrown", async () => {
  const events: string[] = [];
  const failing = fakeCase("b.x", "ms", [1], {
    subject: { name: "old", run: async () => Promise.reject(new Error("old code broke")) },
  });
  const before = fakeBenchmark("b", events, [failing], { label: "old", failTeardown: true });
  const after = fakeBenchmark("b", events, [fakeCase("b.x", "ms", [1])], { label: "new" });
  const log: string[] = [];
  await expect(compare([before], [after], log)).rejects.toThrow("old code broke");
  expect(events).toEqual(["setup new", "setup old", "teardown old", "teardown new"]);
  expect(log).toContain("teardown failed too: Error: teardown of old failed");
});

test("when the old tree's setup fails, this tree's setup is torn down", async () => {
  const events: string[] = [];
  const before = fakeBenchmark("b", events, [], { label: "old", failSetup: true });
  const after = fakeBenchmark("b", events, [], { label: "new" });
  await expect(compare([before], [after])).rejects.toThrow("setup of old failed");
  expect(events).toEqual(["setup new", "setup old", "teardown new"]);
});

test("a teardown that fails after a good run fails the comparison, after both ran", async () => {
  const events: string[] = [];
  const before = fakeBenchmark("b", events, [fakeCase("b.x", "ms", [1])], {
    label: "old",
    failTeardown: true,
  });
  const after = fakeBenchmark("b", events, [fakeCase("b.x", "ms", [1])], {
    label: "new",
    failTeardown: true,
  });
  await expect(compare([before], [after])).rejects.toThrow("teardowns failed");
  expect(events).toEqual(["setup new", "setup old", "teardown old", "teardown new"]);
});

test("an abort stops the comparison and still tears down", async () => {
  const events: string[] = [];
  const controller = new AbortController();
  const stopper = fakeCase("b.x", "ms", [1], {
    subject: {
      name: "new",
      run: async () => {
        controller.abort(new Error("interrupted"));
        return 1;
      },
    },
  });
  const before = fakeBenchmark("b", events, [fakeCase("b.x", "ms", [1])], { label: "old" });
  const after = fakeBenchmark("b", events, [stopper], { label: "new" });
  await expect(
    compareBenchmarks({
      before: [before],
      after: [after],
      beforeLabel: "x",
      signal: controller.signal,
      log: () => {},
    }),
  ).rejects.toThrow("interrupted");
  expect(events).toEqual(["setup new", "setup old", "teardown old", "teardown new"]);
});
