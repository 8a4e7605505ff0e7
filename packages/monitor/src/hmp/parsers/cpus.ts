import { HmpParseError } from "../../errors.js";
import { lines } from "./lines.js";

/** One line of `info cpus`. */
export interface HmpCpu {
  index: number;
  /** The monitor's current CPU (marked `*`). */
  current: boolean;
  /** Host thread id of the vCPU, when printed (`thread_id=N`). */
  threadId: number | undefined;
  /** Older QEMU (before 6.x) printed `(halted)`. */
  halted: boolean;
}

/**
 * `info cpus`. QEMU 7.2 prints `* CPU #0: thread_id=1234`; older versions put
 * `pc=0x… (halted)` between the colon and `thread_id` (the reference's regex
 * matched only one of the two).
 */
export function parseInfoCpus(text: string): HmpCpu[] {
  const cpus: HmpCpu[] = [];
  for (const line of lines(text)) {
    if (line.trim() === "") continue;
    const match = /^([* ]) ?CPU #(\d+):(.*)$/.exec(line);
    if (!match) throw new HmpParseError({ parser: "info cpus", line, reason: "not a CPU line" });
    const rest = match[3]!;
    const thread = /\bthread_id=(\d+)/.exec(rest);
    cpus.push({
      index: Number(match[2]),
      current: match[1] === "*",
      threadId: thread ? Number(thread[1]) : undefined,
      halted: /\(halted\)/.test(rest),
    });
  }
  if (cpus.length === 0)
    throw new HmpParseError({ parser: "info cpus", line: text, reason: "no CPU listed" });
  return cpus;
}
