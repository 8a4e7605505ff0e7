/**
 * Runs the benchmarks of two trees side by side in one process: each benchmark
 * present in both is set up twice (after, then before), its cases are matched by
 * name, and each case present in both runs with `runCase`, this tree's subject as
 * the subject and the old tree's subject as the baseline, alternately, so both see
 * the same load. Both teardowns always run.
 */
import { formatNumber } from "../format.js";
import { type BenchCase, type Benchmark, runCase } from "../harness.js";
import type { CaseComparison, ComparisonReport, NotCompared } from "./report.js";
import { judge, matchByName, pairedNoise, SLOWER_THRESHOLD, sharedDirection } from "./verdict.js";

export interface CompareOptions {
  /** The old tree's benchmarks. */
  before: readonly Benchmark[];
  /** This tree's benchmarks. */
  after: readonly Benchmark[];
  /** Names the old tree in messages, e.g. "HEAD~1". */
  beforeLabel: string;
  signal: AbortSignal;
  /** Progress for people (the CLI prints it). */
  log: (line: string) => void;
  threshold?: number;
  /** Samples per case and side, instead of this tree's case's `runs`. */
  runs?: number;
}

type Setup = Awaited<ReturnType<Benchmark["setup"]>>;

/**
 * Sets up `benchmarks` in order, runs `work` on their cases, and tears down every
 * one that was set up (in reverse order) whatever happened. A teardown error is
 * thrown only if `work` succeeded; otherwise it is logged and `work`'s error wins.
 */
async function withSetups<T>(
  benchmarks: readonly Benchmark[],
  options: Pick<CompareOptions, "signal" | "log">,
  work: (setups: Setup[]) => Promise<T>,
): Promise<T> {
  const setups: Setup[] = [];
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    for (const benchmark of benchmarks) setups.push(await benchmark.setup(options.signal));
    outcome = { ok: true, value: await work(setups) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const errors: unknown[] = [];
  for (const setup of setups.reverse()) {
    try {
      await setup.teardown();
    } catch (error) {
      errors.push(error);
    }
  }
  if (!outcome.ok) {
    for (const error of errors) options.log(`teardown failed too: ${String(error)}`);
    throw outcome.error;
  }
  if (errors.length > 0)
    throw errors.length === 1 ? errors[0] : new AggregateError(errors, "teardowns failed");
  return outcome.value;
}

async function compareCase(
  benchmark: string,
  pair: { name: string; before: BenchCase; after: BenchCase },
  options: CompareOptions,
): Promise<CaseComparison | NotCompared> {
  const direction = sharedDirection(pair.before, pair.after);
  if ("reason" in direction) return { name: pair.name, reason: direction.reason };
  const result = await runCase(
    {
      ...pair.after,
      runs: options.runs ?? pair.after.runs,
      subject: pair.after.subject,
      baseline: pair.before.subject,
    },
    options.signal,
  );
  const before = result.baseline!;
  const judgement = judge(before.median, result.median, direction.better, options.threshold);
  return {
    benchmark,
    name: pair.name,
    unit: pair.after.unit,
    better: direction.better,
    runs: result.runs,
    noise: pairedNoise(before.samples, result.samples),
    before: { median: before.median, p90: before.p90, samples: before.samples },
    after: { median: result.median, p90: result.p90, samples: result.samples },
    ...judgement,
  };
}

/** Compares every benchmark and case the two trees share; lists the others. */
export async function compareBenchmarks(options: CompareOptions): Promise<ComparisonReport> {
  const report: ComparisonReport = {
    threshold: options.threshold ?? SLOWER_THRESHOLD,
    compared: [],
    notCompared: [],
  };
  const benchmarks = matchByName(options.before, options.after);
  for (const { name } of benchmarks.onlyBefore)
    report.notCompared.push({ name, reason: `benchmark only in ${options.beforeLabel}` });
  for (const { name } of benchmarks.onlyAfter)
    report.notCompared.push({ name, reason: "benchmark only in this tree" });

  for (const pair of benchmarks.both) {
    options.log(`\n# ${pair.name}: ${pair.after.description}`);
    await withSetups([pair.after, pair.before], options, async ([after, before]) => {
      const cases = matchByName(before!.cases, after!.cases);
      for (const { name } of cases.onlyBefore)
        report.notCompared.push({ name, reason: `case only in ${options.beforeLabel}` });
      for (const { name } of cases.onlyAfter)
        report.notCompared.push({ name, reason: "case only in this tree" });
      for (const casePair of cases.both) {
        const outcome = await compareCase(pair.name, casePair, options);
        if ("reason" in outcome) {
          report.notCompared.push(outcome);
          options.log(`  ${outcome.name}: not compared: ${outcome.reason}`);
          continue;
        }
        report.compared.push(outcome);
        options.log(
          `  ${outcome.name}: before ${formatNumber(outcome.before.median)}, after ` +
            `${formatNumber(outcome.after.median)} ${outcome.unit} (${outcome.ratio.toFixed(3)}x): ${outcome.verdict}`,
        );
      }
    });
  }
  return report;
}
