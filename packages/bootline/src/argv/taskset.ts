/** The program at the start of a command line, and a `taskset` prefix before it. */
import { InvalidArgumentError, MAX_CPU, parseCpuList } from "@qemu-kvm/core";

/** `argv[index]`, which must be a string (`ERR_INVALID_ARGUMENT` otherwise). */
export function stringAt(argv: readonly unknown[], index: number): string {
  const value = argv[index];
  if (typeof value !== "string")
    throw new InvalidArgumentError(`argv[${index}]`, "a string", value);
  return value;
}

/**
 * The CPUs of a hexadecimal affinity mask, read digit by digit (linear in its
 * length); `undefined` when it names no CPU or one above `MAX_CPU`, as
 * `parseCpuList` does for a list.
 */
function maskCpus(hex: string): number[] | undefined {
  const digits = hex.replace(/^0+/, "");
  if (digits === "" || digits.length * 4 > MAX_CPU + 1) return undefined;
  const cpus: number[] = [];
  for (let position = 0; position < digits.length; position++) {
    const value = Number.parseInt(digits[digits.length - 1 - position]!, 16);
    for (let bit = 0; bit < 4; bit++) if (value & (1 << bit)) cpus.push(position * 4 + bit);
  }
  return cpus;
}

/** The host CPUs of `taskset [options] LIST|MASK` (argv[0] is taskset), and what follows. */
function taskset(argv: readonly string[]): { hostCpus?: number[]; rest: readonly string[] } {
  let index = 1;
  let listMode = false;
  while (index < argv.length && stringAt(argv, index).startsWith("-")) {
    const option = argv[index]!;
    if (option === "--cpu-list" || (/^-[a-z]+$/.test(option) && option.includes("c")))
      listMode = true;
    index++;
  }
  if (index >= argv.length) return { rest: [] };
  const cpus = stringAt(argv, index);
  let hostCpus: number[] | undefined;
  if (listMode) {
    // An empty list pins to nothing: taskset refuses it, and so it is no pinning here.
    const list = parseCpuList(cpus);
    hostCpus = list?.length ? list : undefined;
  } else if (/^(0x)?[0-9a-fA-F]+$/.test(cpus)) {
    hostCpus = maskCpus(cpus.startsWith("0x") ? cpus.slice(2) : cpus);
  }
  return { ...(hostCpus ? { hostCpus } : {}), rest: argv.slice(index + 1) };
}

/** Splits off the program (after any `taskset` prefix) from QEMU's options. */
export function programOf(argv: readonly string[]): {
  file?: string;
  hostCpus?: number[];
  args: readonly string[];
} {
  let args = argv;
  let hostCpus: number[] | undefined;
  if (args.length === 0 || stringAt(args, 0).startsWith("-")) return { args };
  const program = args[0]!;
  if (program === "taskset" || program.endsWith("/taskset")) {
    const pinned = taskset(args);
    hostCpus = pinned.hostCpus;
    args = pinned.rest;
    if (args.length === 0 || stringAt(args, 0).startsWith("-"))
      return { ...(hostCpus ? { hostCpus } : {}), args };
  }
  return { file: args[0]!, ...(hostCpus ? { hostCpus } : {}), args: args.slice(1) };
}
