/** `buildArgs` and `buildCommand`: a validated spec to QEMU's argv, one builder per section. */
import { checkNonEmptyString, checkOptions } from "../arguments.js";
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import type { VmSpec } from "../spec/vm-spec.js";
import { resolveOrThrow } from "../validate/resolve.js";
import { displayArgs, guestAgentArgs, incomingArgs, monitorsArgs, serialArgs } from "./channels.js";
import {
  cryptoArgs,
  drivesArgs,
  kernelArgs,
  passthroughArgs,
  pflashArgs,
  rngArgs,
} from "./devices.js";
import {
  acceleratorArgs,
  cpuArgs,
  machineArgs,
  memoryArgs,
  nameArgs,
  processArgs,
} from "./machine.js";
import { netArgs } from "./nets.js";
import { type Command, pinnedCommand } from "./pin.js";

/** The section builders, in the order their arguments appear on the command line. */
const SECTIONS: readonly ((spec: ResolvedSpec) => readonly string[])[] = [
  nameArgs,
  machineArgs,
  acceleratorArgs,
  cpuArgs,
  memoryArgs,
  processArgs,
  monitorsArgs,
  serialArgs,
  displayArgs,
  drivesArgs,
  pflashArgs,
  kernelArgs,
  netsArgs,
  passthroughArgs,
  guestAgentArgs,
  cryptoArgs,
  rngArgs,
  incomingArgs,
  extraArgs,
];

function netsArgs(spec: ResolvedSpec): readonly string[] {
  const args: string[] = [];
  for (const net of spec.nets) for (const arg of netArgs(net)) args.push(arg);
  return args;
}

function extraArgs(spec: ResolvedSpec): readonly string[] {
  return spec.extraArgs;
}

function argsOf(spec: ResolvedSpec): string[] {
  // A plain loop: this runs for every spec built, and flatMap costs a tenth of it.
  const args: string[] = [];
  for (const build of SECTIONS) for (const arg of build(spec)) args.push(arg);
  return args;
}

/**
 * The QEMU arguments for a spec (without the program name), in a fixed order:
 * the same spec always gives the same argv. Validates first and throws
 * `InvalidSpecError` listing every problem. Every option-list value is escaped
 * (`,` → `,,`); nothing is ever meant for a shell.
 */
export function buildArgs(spec: VmSpec): string[] {
  return argsOf(resolveOrThrow(spec));
}

export interface BuildCommandOptions {
  /** The `taskset` binary used when `cpu.hostCpus` is set. Default `taskset`. */
  readonly taskset?: string;
}

/**
 * The whole command: `{ file: emulator, args }`, or, when `cpu.hostCpus` is set,
 * `{ file: "taskset", args: ["-c", "3-6", emulator, …] }`. Pass it to a process
 * API that takes a file and argv (never a shell).
 */
export function buildCommand(spec: VmSpec, options: BuildCommandOptions = {}): Command {
  checkOptions(options, { taskset: checkNonEmptyString });
  const resolved = resolveOrThrow(spec);
  const args = argsOf(resolved);
  if (resolved.cpu.hostCpus.length === 0) return { file: resolved.emulator, args };
  return pinnedCommand({ file: resolved.emulator, args }, resolved.cpu.hostCpus, options);
}
