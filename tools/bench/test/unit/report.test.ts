import { expect, test } from "vitest";
import {
  type CaseComparison,
  type ComparisonReport,
  comparisonSummary,
  comparisonTable,
  notComparedLines,
  slowerCases,
} from "../../src/compare/report.js";
import { judge } from "../../src/compare/verdict.js";
import type { Better } from "../../src/harness.js";

function comparison(
  name: string,
  unit: string,
  better: Better,
  before: number,
  after: number,
  noise = 0.01,
): CaseComparison {
  return {
    noise,
    benchmark: "b",
    name,
    unit,
    better,
    runs: 3,
    before: { median: before, p90: before, samples: [before] },
    after: { median: after, p90: after, samples: [after] },
    ...judge(before, after, better),
  };
}

const report: ComparisonReport = {
  threshold: 0.05,
  compared: [
    comparison("b.exec", "ms", "lower", 10, 11),
    comparison("b.rate", "ops/s", "higher", 1000, 1200),
    comparison("b.steady", "µs", "lower", 200, 202),
  ],
  notCompared: [{ name: "b.gone", reason: "case only in HEAD~1" }],
};

test("the table has a header, a rule and one row per compared case", () => {
  const lines = comparisonTable(report);
  expect(lines[0]!.split(/\s{2,}/)).toEqual([
    "case",
    "unit",
    "before median",
    "after median",
    "after/before",
    "noise",
    "verdict",
  ]);
  expect(lines[1]).toMatch(/^-+( {2}-+){6}$/);
  expect(lines.slice(2).map((line) => line.split(/\s{2,}/))).toEqual([
    ["b.exec", "ms", "10.00", "11.00", "1.100x", "±1.0 %", "SLOWER by 10.0 %"],
    ["b.rate", "ops/s", "1000", "1200", "1.200x", "±1.0 %", "faster by 20.0 %"],
    ["b.steady", "µs", "200", "202", "1.010x", "±1.0 %", "same (1.0 % slower, within 5.0 %)"],
  ]);
  // Columns line up: every row's second column starts where the header's does.
  const column = lines[0]!.indexOf("unit");
  for (const line of lines.slice(2)) expect(line.slice(column, column + 2)).toMatch(/^(ms|op|µs)/);
});

test("a rate that fell is slower, a duration that fell is faster", () => {
  const flipped: ComparisonReport = {
    threshold: 0.05,
    compared: [
      comparison("r", "MiB/s", "higher", 100, 80),
      comparison("d", "ms", "lower", 100, 80),
    ],
    notCompared: [],
  };
  expect(
    comparisonTable(flipped)
      .slice(2)
      .map((line) => line.split(/\s{2,}/).at(-1)),
  ).toEqual(["SLOWER by 20.0 %", "faster by 20.0 %"]);
});

test("a difference no larger than the run-to-run noise says so", () => {
  const noisy: ComparisonReport = {
    threshold: 0.05,
    compared: [
      comparison("n.slow", "ms", "lower", 100, 118, 0.2),
      comparison("n.fast", "ops/s", "higher", 100, 110, 0.1),
      comparison("n.clear", "ms", "lower", 100, 118, 0.05),
    ],
    notCompared: [],
  };
  expect(
    comparisonTable(noisy)
      .slice(2)
      .map((line) => line.split(/\s{2,}/).slice(5)),
  ).toEqual([
    ["±20.0 %", "SLOWER by 18.0 % (within noise)"],
    ["±10.0 %", "faster by 10.0 % (within noise)"],
    ["±5.0 %", "SLOWER by 18.0 %"],
  ]);
});

test("the summary names the slower cases and counts the rest", () => {
  expect(comparisonSummary(report)).toBe(
    "3 cases compared: 1 more than 5.0 % slower (b.exec), 1 faster, 1 the same; 1 not compared",
  );
  expect(slowerCases(report).map((c) => c.name)).toEqual(["b.exec"]);
  expect(
    comparisonSummary({ threshold: 0.05, compared: [report.compared[2]!], notCompared: [] }),
  ).toBe("1 case compared: none more than 5.0 % slower, 0 faster, 1 the same");
});

test("cases not compared are listed with their reason", () => {
  expect(notComparedLines(report)).toEqual(["not compared: b.gone: case only in HEAD~1"]);
});
