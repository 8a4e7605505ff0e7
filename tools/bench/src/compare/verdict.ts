/**
 * The pure parts of `pnpm bench --against`: matching by name, the direction of a
 * case, and the verdict on its before and after medians.
 */
import { type BenchCase, type Better, betterOf, median, quantile } from "../harness.js";

/** A case is "slower" when it lost more than this fraction (5 %). */
export const SLOWER_THRESHOLD = 0.05;

export interface Matched<T> {
  /** In the order of `after`. */
  both: Array<{ name: string; before: T; after: T }>;
  onlyBefore: T[];
  onlyAfter: T[];
}

function byName<T extends { name: string }>(items: readonly T[], side: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    if (map.has(item.name)) throw new Error(`${side}: two entries are named ${item.name}`);
    map.set(item.name, item);
  }
  return map;
}

/** Pairs entries (benchmarks or cases) of the two trees by name; a name twice on one side is an error. */
export function matchByName<T extends { name: string }>(
  before: readonly T[],
  after: readonly T[],
): Matched<T> {
  const beforeByName = byName(before, "before");
  const afterByName = byName(after, "after");
  return {
    both: after.flatMap((item) => {
      const old = beforeByName.get(item.name);
      return old ? [{ name: item.name, before: old, after: item }] : [];
    }),
    onlyBefore: before.filter((item) => !afterByName.has(item.name)),
    onlyAfter: after.filter((item) => !beforeByName.has(item.name)),
  };
}

/**
 * The direction two versions of a case share, or why they cannot be compared:
 * a changed unit or direction, or a unit with no default direction and no `better`.
 */
export function sharedDirection(
  before: Pick<BenchCase, "unit" | "better">,
  after: Pick<BenchCase, "unit" | "better">,
): { better: Better } | { reason: string } {
  if (before.unit !== after.unit) return { reason: `unit changed: ${before.unit} → ${after.unit}` };
  const old = betterOf(before);
  const now = betterOf(after);
  if (now === undefined || old === undefined)
    return { reason: `unit ${after.unit} has no default direction: give the case better` };
  if (old !== now) return { reason: `direction changed: ${old} → ${now} is better` };
  return { better: now };
}

export type Verdict = "slower" | "faster" | "same";

export interface Judgement {
  /** after median / before median, in the case's unit. */
  ratio: number;
  /**
   * How much slower the after side is, as a fraction of before: for a duration
   * `ratio − 1`, for a rate `1 − ratio`. `+0.07` = 7 % slower, `−0.10` = 10 % faster.
   */
  slowdown: number;
  /** `slower` above the threshold, `faster` below its negative, else `same`. */
  verdict: Verdict;
}

/** The verdict on one case. Medians must be positive and finite. */
export function judge(
  before: number,
  after: number,
  better: Better,
  threshold = SLOWER_THRESHOLD,
): Judgement {
  for (const [side, value] of [
    ["before", before],
    ["after", after],
  ] as const) {
    if (!(Number.isFinite(value) && value > 0))
      throw new RangeError(`${side} median must be a positive number, not ${value}`);
  }
  const ratio = after / before;
  const slowdown = better === "lower" ? ratio - 1 : 1 - ratio;
  // Exactly at the threshold is not "more than" it: 105 / 100 − 1 is 0.05 + 4e-17.
  const margin = threshold + 1e-9;
  const verdict: Verdict = slowdown > margin ? "slower" : slowdown < -margin ? "faster" : "same";
  return { ratio, slowdown, verdict };
}

/**
 * How much the case moves from run to run, as a fraction: half the interquartile
 * range of the paired ratios after[i] / before[i] (each pair ran back to back, so
 * both saw the same load), over their median. A difference smaller than this is
 * not distinguishable from noise on this machine at this moment.
 */
export function pairedNoise(before: readonly number[], after: readonly number[]): number {
  const count = Math.min(before.length, after.length);
  if (count === 0) throw new RangeError("no samples");
  const ratios = Array.from({ length: count }, (_, index) => after[index]! / before[index]!);
  return (quantile(ratios, 0.75) - quantile(ratios, 0.25)) / 2 / median(ratios);
}
