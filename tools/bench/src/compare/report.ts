/** What `pnpm bench --against` found, and how it is shown. Pure. */
import { formatNumber, formatPercent, formatTable } from "../format.js";
import type { Better } from "../harness.js";
import type { Judgement } from "./verdict.js";

export interface SideStats {
  median: number;
  p90: number;
  samples: number[];
}

export interface CaseComparison extends Judgement {
  /** See `pairedNoise`: ±this fraction is run-to-run noise. */
  noise: number;
  benchmark: string;
  name: string;
  unit: string;
  better: Better;
  runs: number;
  before: SideStats;
  after: SideStats;
}

/** A case (or a whole benchmark) that was listed but not measured, and why. */
export interface NotCompared {
  name: string;
  reason: string;
}

export interface ComparisonReport {
  threshold: number;
  compared: CaseComparison[];
  notCompared: NotCompared[];
}

function verdictText(comparison: CaseComparison, threshold: number): string {
  const amount = formatPercent(Math.abs(comparison.slowdown)).replace("+", "");
  const way = comparison.slowdown >= 0 ? "slower" : "faster";
  const noisy = Math.abs(comparison.slowdown) <= comparison.noise + 1e-9 ? " (within noise)" : "";
  if (comparison.verdict === "slower") return `SLOWER by ${amount}${noisy}`;
  if (comparison.verdict === "faster") return `faster by ${amount}${noisy}`;
  return `same (${amount} ${way}, within ${formatPercent(threshold).replace("+", "")})`;
}

/** The table: case, unit, before median, after median, after/before, noise, verdict. */
export function comparisonTable(report: ComparisonReport): string[] {
  return formatTable([
    ["case", "unit", "before median", "after median", "after/before", "noise", "verdict"],
    ...report.compared.map((comparison) => [
      comparison.name,
      comparison.unit,
      formatNumber(comparison.before.median),
      formatNumber(comparison.after.median),
      `${comparison.ratio.toFixed(3)}x`,
      `±${formatPercent(comparison.noise).replace("+", "")}`,
      verdictText(comparison, report.threshold),
    ]),
  ]);
}

/** One line per case or benchmark left out. */
export function notComparedLines(report: ComparisonReport): string[] {
  return report.notCompared.map(({ name, reason }) => `not compared: ${name}: ${reason}`);
}

/** The cases more than the threshold slower. */
export function slowerCases(report: ComparisonReport): CaseComparison[] {
  return report.compared.filter((comparison) => comparison.verdict === "slower");
}

/** e.g. "3 cases compared: 1 more than 5.0 % slower (a.b), 0 faster, 2 the same; 1 not compared". */
export function comparisonSummary(report: ComparisonReport): string {
  const slower = slowerCases(report);
  const faster = report.compared.filter((comparison) => comparison.verdict === "faster");
  const same = report.compared.length - slower.length - faster.length;
  const limit = formatPercent(report.threshold).replace("+", "");
  const count = report.compared.length;
  const head = `${count} case${count === 1 ? "" : "s"} compared: `;
  const slowerPart =
    slower.length === 0
      ? `none more than ${limit} slower`
      : `${slower.length} more than ${limit} slower (${slower.map((c) => c.name).join(", ")})`;
  const rest = `, ${faster.length} faster, ${same} the same`;
  const left = report.notCompared.length;
  return `${head}${slowerPart}${rest}${left ? `; ${left} not compared` : ""}`;
}
