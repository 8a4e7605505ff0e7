/** Where the vm benchmark's samples spent their time, noted per sample and printed as medians at the end. */
import { median } from "../../harness.js";
import { formatLaps, type Lap, medianLaps } from "./laps.js";

/** Where the samples' time went, printed (as medians) when the benchmark is torn down. */
export interface Notes {
  readonly facadeStart: Lap[][];
  readonly bareStart: Lap[][];
  readonly facadeStop: Lap[][];
  readonly bareStop: Lap[][];
  /** Per sample of the 16, the laps of the VM that was ready last. */
  readonly facadeMany: Lap[][];
  readonly bareMany: Lap[][];
  /** Growth of the resident set per VM, KiB (allocator pages: noisier than the case's figure). */
  readonly facadeRssKiB: number[];
  readonly bareRssKiB: number[];
}

export function newNotes(): Notes {
  return {
    facadeStart: [],
    bareStart: [],
    facadeStop: [],
    bareStop: [],
    facadeMany: [],
    bareMany: [],
    facadeRssKiB: [],
    bareRssKiB: [],
  };
}

/** Prints the medians of what was noted (nothing for what no sample noted). */
export function printNotes(notes: Notes, atOnce: number): void {
  const lines: string[] = [];
  const laps = (label: string, samples: Lap[][]) => {
    if (samples.length > 0)
      lines.push(`  ${label} (${samples.length} samples): ${formatLaps(medianLaps(samples))}`);
  };
  laps("facade start", notes.facadeStart);
  laps("bare start", notes.bareStart);
  laps("facade stop", notes.facadeStop);
  laps("bare stop", notes.bareStop);
  laps(`facade ${atOnce} paused, the last VM`, notes.facadeMany);
  laps(`bare ${atOnce} paused, the last VM`, notes.bareMany);
  const kib = (samples: number[]) => (samples.length > 0 ? median(samples).toFixed(0) : "-");
  if (notes.facadeRssKiB.length > 0)
    lines.push(
      `  RSS growth per VM (KiB, median): facade ${kib(notes.facadeRssKiB)}, bare ${kib(notes.bareRssKiB)}`,
    );
  if (lines.length > 0)
    console.log(["\n  vm: where the time went (median ms)", ...lines].join("\n"));
}
