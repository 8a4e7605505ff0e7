/**
 * Where a sample's time went: its laps (a phase and how long it took), from
 * the facade's `vm.timeline` or a stopwatch, and their medians over samples.
 */
import { median } from "../../harness.js";

export interface Lap {
  readonly label: string;
  readonly ms: number;
}

/** One entry of `vm.timeline`: a phase and when it began, in ms since `start()` was called. */
export interface TimelineEntry {
  readonly phase: string;
  readonly elapsedMs: number;
  readonly detail?: string;
}

/**
 * The laps of a start: each phase lasts until the next one begins, the last
 * until `totalMs` (the whole call as the caller timed it). A phase with a
 * detail is labelled with it (`leases (opening the pool)`).
 */
export function timelineLaps(entries: readonly TimelineEntry[], totalMs: number): Lap[] {
  return entries.map((entry, index) => ({
    label: entry.detail === undefined ? entry.phase : `${entry.phase} (${entry.detail})`,
    ms: (entries[index + 1]?.elapsedMs ?? totalMs) - entry.elapsedMs,
  }));
}

/** A stopwatch: `lap(label)` ends the lap that began at the previous lap (or at construction). */
export class Stopwatch {
  readonly laps: Lap[] = [];
  #last = performance.now();

  lap(label: string): void {
    const now = performance.now();
    this.laps.push({ label, ms: now - this.#last });
    this.#last = now;
  }
}

/**
 * The median of each lap over samples, in the order labels first appear. A label
 * seen twice in a sample (`leases` before and after the runtime directory) is
 * two laps, matched by occurrence; a lap missing from some samples is the
 * median of those that have it.
 */
export function medianLaps(samples: readonly (readonly Lap[])[]): Lap[] {
  const byKey = new Map<string, { label: string; values: number[] }>();
  for (const laps of samples) {
    const seen = new Map<string, number>();
    for (const { label, ms } of laps) {
      const occurrence = (seen.get(label) ?? 0) + 1;
      seen.set(label, occurrence);
      const key = `${label}\0${occurrence}`;
      const slot = byKey.get(key) ?? { label, values: [] };
      slot.values.push(ms);
      byKey.set(key, slot);
    }
  }
  return [...byKey.values()].map(({ label, values }) => ({ label, ms: median(values) }));
}

/** `leases 12, launch 60, login 1800` (whole ms). */
export function formatLaps(laps: readonly Lap[]): string {
  return laps.map(({ label, ms }) => `${label} ${ms.toFixed(0)}`).join(", ");
}

/** What `vm.stop()` resolves with, as far as its laps need it. */
export interface StopReport {
  readonly durationMs: number;
  readonly stages: readonly {
    readonly stage: string;
    readonly outcome: string;
    readonly durationMs: number;
  }[];
}

/**
 * The laps of a stop that took `totalMs` as the caller timed it: what came
 * before the first stage (the run-state query), each stage, and what came
 * after QEMU was gone (the runtime directory, the leases, the pool).
 */
export function stopLaps(report: StopReport, totalMs: number): Lap[] {
  const staged = report.stages.reduce((sum, stage) => sum + stage.durationMs, 0);
  return [
    { label: "before the stages", ms: report.durationMs - staged },
    ...report.stages.map(({ stage, outcome, durationMs }) => ({
      label: `${stage} (${outcome})`,
      ms: durationMs,
    })),
    { label: "cleanup after exit", ms: totalMs - report.durationMs },
  ];
}

/** The laps whose total is the largest (the slowest of VMs started at once); none for no samples. */
export function slowestLaps(samples: readonly (readonly Lap[])[]): Lap[] {
  let slowest: readonly Lap[] = [];
  let slowestMs = Number.NEGATIVE_INFINITY;
  for (const laps of samples) {
    const total = laps.reduce((sum, lap) => sum + lap.ms, 0);
    if (total > slowestMs) {
      slowest = laps;
      slowestMs = total;
    }
  }
  return [...slowest];
}
