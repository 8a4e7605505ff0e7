/**
 * The benchmark harness behind `pnpm bench`.
 *
 * A benchmark file (`src/benchmarks/*.bench.ts`) default-exports a `Benchmark`.
 * Its `setup()` prepares what it needs (a VM, an sshd…) and returns cases and a
 * teardown. Each case has a subject and, usually, a baseline: the harness runs
 * them alternately in one process (subject, baseline, subject, …) so both see
 * the same machine load, then reports median and p90 of each and the ratio
 * subject median / baseline median.
 */

export interface Trial {
  /** What is measured, e.g. "exec('true') over ssh2". */
  name: string;
  /** Runs once and returns one sample, in the case's unit. */
  run(signal: AbortSignal): Promise<number>;
}

/** Which way a sample is better: durations lower, rates higher. */
export type Better = "lower" | "higher";

export interface BenchCase {
  /** Unique name, e.g. "host.exec-roundtrip.ssh". */
  name: string;
  /** Unit of every sample: "ms", "µs", "ops/s", "MiB/s"… */
  unit: string;
  /**
   * Which way is better. Default from the unit (see `betterOf`): `"lower"` for a
   * duration (`ns`, `µs`, `ms`, `s`), `"higher"` for a rate (`…/s`). Required for any
   * other unit if the case is to be compared (`pnpm bench --against`).
   */
  better?: Better;
  /** Samples taken of the subject (and of the baseline). Default 5. */
  runs?: number;
  /** Untimed runs of each trial before measuring. Default 0. */
  warmup?: number;
  subject: Trial;
  baseline?: Trial;
}

export interface Benchmark {
  /** `pnpm bench NAME` runs the benchmarks whose name starts with NAME. */
  name: string;
  description: string;
  setup(signal: AbortSignal): Promise<{ cases: BenchCase[]; teardown(): Promise<void> }>;
}

export interface Stats {
  name: string;
  median: number;
  p90: number;
}

export interface BenchResult extends Stats {
  unit: string;
  runs: number;
  samples: number[];
  baseline?: Stats & { samples: number[] };
  /** subject median / baseline median */
  ratio?: number;
}

const DURATION_UNITS: ReadonlySet<string> = new Set(["ns", "µs", "us", "ms", "s", "min"]);

/**
 * The direction of a case: its own `better`, else the default of its unit
 * (durations lower, rates `…/s` higher), else undefined (unknown unit).
 */
export function betterOf(benchCase: Pick<BenchCase, "unit" | "better">): Better | undefined {
  if (benchCase.better !== undefined) return benchCase.better;
  if (DURATION_UNITS.has(benchCase.unit)) return "lower";
  if (/^\S+\/s$/.test(benchCase.unit)) return "higher";
  return undefined;
}

/** Median (mean of the two middle values for an even count). */
export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/** Linear-interpolated quantile, q in [0, 1]. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new RangeError("no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

/** Runs one case: subject and baseline alternately, then summarizes. */
export async function runCase(benchCase: BenchCase, signal: AbortSignal): Promise<BenchResult> {
  const runs = benchCase.runs ?? 5;
  const { subject, baseline } = benchCase;
  for (let i = 0; i < (benchCase.warmup ?? 0); i++) {
    await subject.run(signal);
    await baseline?.run(signal);
  }
  const subjectSamples: number[] = [];
  const baselineSamples: number[] = [];
  for (let i = 0; i < runs; i++) {
    signal.throwIfAborted();
    // Alternate which goes first so neither always runs on a warmer machine.
    if (baseline && i % 2 === 1) baselineSamples.push(await baseline.run(signal));
    subjectSamples.push(await subject.run(signal));
    if (baseline && i % 2 === 0) baselineSamples.push(await baseline.run(signal));
  }
  const result: BenchResult = {
    name: benchCase.name,
    unit: benchCase.unit,
    median: median(subjectSamples),
    p90: quantile(subjectSamples, 0.9),
    runs,
    samples: subjectSamples,
  };
  if (baseline) {
    result.baseline = {
      name: baseline.name,
      median: median(baselineSamples),
      p90: quantile(baselineSamples, 0.9),
      samples: baselineSamples,
    };
    result.ratio = result.median / result.baseline.median;
  }
  return result;
}

/** Milliseconds elapsed while `fn` runs. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
