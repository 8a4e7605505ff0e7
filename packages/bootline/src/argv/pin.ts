import { formatCpuList, InvalidArgumentError, MAX_CPU } from "@qemu-kvm/core";
import { checkNonEmptyString, checkOptions, checkString, checkStringArray } from "../arguments.js";

/** A program and its argument vector, for a process API that takes no shell. */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
}

export interface PinOptions {
  /** The `taskset` binary. Default `taskset` (looked up in PATH). */
  readonly taskset?: string;
}

function checkHostCpus(hostCpus: unknown): asserts hostCpus is readonly number[] {
  const expected = `an array of host CPU numbers 0–${MAX_CPU}`;
  if (!Array.isArray(hostCpus)) throw new InvalidArgumentError("hostCpus", expected, hostCpus);
  if (hostCpus.length === 0)
    throw new InvalidArgumentError("hostCpus", expected, hostCpus, {
      problem: "is empty: at least one host CPU is needed",
    });
  for (const [index, cpu] of hostCpus.entries())
    if (typeof cpu !== "number" || !Number.isInteger(cpu) || cpu < 0 || cpu > MAX_CPU)
      throw new InvalidArgumentError(`hostCpus[${index}]`, `a CPU number 0–${MAX_CPU}`, cpu);
}

/**
 * Wraps a command so that it runs on the given host CPUs:
 * `taskset -c 3-6 FILE ARGS…` (util-linux `taskset` stops reading its own options
 * at the CPU list, so the command's arguments pass through untouched).
 * Throws `ERR_INVALID_ARGUMENT` for an empty list or a value that is not a CPU
 * number, naming it (`hostCpus[1]`).
 */
export function pinnedCommand(
  command: Command,
  hostCpus: readonly number[],
  options: PinOptions = {},
): Command {
  if (typeof command !== "object" || command === null)
    throw new InvalidArgumentError("command", "a { file, args } object", command);
  checkString(command.file, "command.file");
  checkStringArray(command.args, "command.args");
  checkHostCpus(hostCpus);
  checkOptions(options, { taskset: checkNonEmptyString });
  return {
    file: options.taskset ?? "taskset",
    args: ["-c", formatCpuList(hostCpus), command.file, ...command.args],
  };
}
