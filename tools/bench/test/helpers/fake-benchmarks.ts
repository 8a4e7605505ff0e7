/** Benchmarks made of plain functions, for testing the harness and the comparison. */
import type { BenchCase, Benchmark } from "../../src/harness.js";

/** A case whose subject returns `samples` in turn (the last one again when they run out). */
export function fakeCase(
  name: string,
  unit: string,
  samples: number[],
  extra: Partial<BenchCase> = {},
): BenchCase {
  let index = 0;
  return {
    name,
    unit,
    runs: 3,
    subject: {
      name: `${name} subject`,
      run: async () => samples[Math.min(index++, samples.length - 1)]!,
    },
    ...extra,
  };
}

/** A benchmark with these cases that records "setup NAME" and "teardown NAME" in `events`. */
export function fakeBenchmark(
  name: string,
  events: string[],
  cases: BenchCase[],
  options: { failSetup?: boolean; failTeardown?: boolean; label?: string } = {},
): Benchmark {
  const label = options.label ?? name;
  return {
    name,
    description: `fake ${name}`,
    async setup() {
      events.push(`setup ${label}`);
      if (options.failSetup) throw new Error(`setup of ${label} failed`);
      return {
        cases,
        async teardown() {
          events.push(`teardown ${label}`);
          if (options.failTeardown) throw new Error(`teardown of ${label} failed`);
        },
      };
    },
  };
}
