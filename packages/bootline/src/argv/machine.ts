/** argv of the process and the machine: `-name`, `-machine`, `-accel`, `-cpu`, `-m`, `-pidfile`… */
import type { ResolvedSpec } from "../spec/resolved-spec.js";
import { ids } from "../syntax/ids.js";
import { type OptionEntry, writeOptionList } from "../syntax/option-list.js";
import { known, onOff } from "./options.js";

export function nameArgs(spec: ResolvedSpec): string[] {
  const args = ["-name", writeOptionList([[undefined, spec.name]])];
  if (spec.uuid !== undefined) args.push("-uuid", spec.uuid);
  return args;
}

export function machineArgs(spec: ResolvedSpec): string[] {
  if (!spec.machine) return [];
  const machine: OptionEntry[] = [
    ...(spec.machine.type !== undefined ? ([[undefined, spec.machine.type]] as const) : []),
    ...(spec.machine.gicVersion !== undefined
      ? ([["gic-version", spec.machine.gicVersion]] as const)
      : []),
    ...spec.machine.properties,
  ];
  return machine.length ? ["-machine", writeOptionList(machine)] : [];
}

export function acceleratorArgs(spec: ResolvedSpec): string[] {
  const args = ["-accel", spec.accelerator];
  if (!spec.defaultDevices) args.push("-nodefaults");
  if (spec.noUserConfig) args.push("-no-user-config");
  return args;
}

export function cpuArgs(spec: ResolvedSpec): string[] {
  const args: string[] = [];
  if (spec.cpu.model !== undefined) args.push("-cpu", spec.cpu.model);
  if (spec.cpu.count !== undefined) args.push("-smp", String(spec.cpu.count));
  return args;
}

export function memoryArgs(spec: ResolvedSpec): string[] {
  if (!spec.memory) return [];
  const { sizeMiB, backend } = spec.memory;
  const args = ["-m", `${sizeMiB}M`];
  if (!backend) return args;
  const size = ["size", `${sizeMiB}M`] as const;
  const object: OptionEntry[] =
    backend.type === "file"
      ? [
          [undefined, "memory-backend-file"],
          ["id", ids.memoryBackend],
          size,
          ["mem-path", backend.path],
          ["share", onOff(backend.share)],
          ["prealloc", onOff(backend.prealloc)],
        ]
      : [
          [undefined, "memory-backend-memfd"],
          ["id", ids.memoryBackend],
          size,
          ["share", onOff(backend.share)],
          ["hugetlb", onOff(backend.hugepages)],
          ["prealloc", onOff(backend.prealloc)],
        ];
  const node: OptionEntry[] = [
    [undefined, "node"],
    ["memdev", ids.memoryBackend],
  ];
  return [...args, "-object", writeOptionList(object), "-numa", writeOptionList(node)];
}

export function processArgs(spec: ResolvedSpec): string[] {
  const args: string[] = [];
  if (spec.pidfile) args.push("-pidfile", known(spec.pidfile.path, "pidfile.path"));
  if (spec.daemonize) args.push("-daemonize");
  if (spec.paused) args.push("-S");
  if (spec.noReboot) args.push("-no-reboot");
  return args;
}
