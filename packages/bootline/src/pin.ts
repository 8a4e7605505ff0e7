import { formatCpuList, MAX_CPU } from "./cpu-list.js";
import { InvalidSpecError, type SpecIssue } from "./errors.js";

/** A program and its argument vector, for a process API that takes no shell. */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
}

export interface PinOptions {
  /** The `taskset` binary. Default `taskset` (looked up in PATH). */
  readonly taskset?: string;
}

/**
 * Wraps a command so that it runs on the given host CPUs:
 * `taskset -c 3-6 FILE ARGS…` (util-linux `taskset` stops reading its own options
 * at the CPU list, so the command's arguments pass through untouched).
 * Throws `InvalidSpecError` for an empty list or a value that is not a CPU number.
 */
export function pinnedCommand(
  command: Command,
  hostCpus: readonly number[],
  options: PinOptions = {},
): Command {
  const issues: SpecIssue[] = [];
  if (hostCpus.length === 0)
    issues.push({
      path: "hostCpus",
      message: "is empty",
      expected: "at least one host CPU number",
    });
  for (const [index, cpu] of hostCpus.entries())
    if (!Number.isInteger(cpu) || cpu < 0 || cpu > MAX_CPU)
      issues.push({
        path: `hostCpus[${index}]`,
        message: `is ${cpu}`,
        expected: `a CPU number 0–${MAX_CPU}`,
      });
  if (issues.length) throw new InvalidSpecError(issues);
  return {
    file: options.taskset ?? "taskset",
    args: ["-c", formatCpuList(hostCpus), command.file, ...command.args],
  };
}
