/**
 * Validation: untrusted input (JSON, a DTS config, a typed object) read as a
 * spec, section by section, every problem collected with its field path. The
 * result is the resolved form (defaults applied, paths derived, ids chosen) that
 * the builders and fact extractors read, so that what is checked, what is built
 * and what is reported cannot drift apart.
 */
import { VM_NAME_PATTERN, VM_NAME_RULE } from "@qemu-kvm/core";
import { checkBoolean, checkOptions } from "../arguments.js";
import { InvalidSpecError, type SpecIssue } from "../errors.js";
import { DEFAULT_EMULATOR, runtimeFileNames } from "../spec/defaults.js";
import type { ResolvedNet, ResolvedSpec } from "../spec/resolved-spec.js";
import type { VmSpec } from "../spec/vm-spec.js";
import {
  readDisplay,
  readGuestAgent,
  readIncoming,
  readRuntimeFile,
  readSerial,
} from "./channels.js";
import type { Context } from "./context.js";
import { crossChecks } from "./cross-checks.js";
import { readCrypto, readPassthrough } from "./devices.js";
import { builderIds, readExtraArgs } from "./extra-args.js";
import { readCpu, readMachine, readMemory } from "./machine.js";
import { readNet } from "./nets.js";
import { Issues, Reader } from "./reader.js";
import { readDrives, readKernel, readPflash } from "./storage.js";

export interface ValidateOptions {
  /**
   * Accept a spec that is not ready to build yet: ports still `"auto"` and runtime
   * files whose path would come from a missing `runtimeDir`. Default false.
   */
  readonly allowUnassigned?: boolean;
}

const VALIDATE_OPTIONS = { allowUnassigned: checkBoolean };

const TOP_LEVEL = [
  "name",
  "emulator",
  "runtimeDir",
  "machine",
  "accelerator",
  "defaultDevices",
  "daemonize",
  "pidfile",
  "cpu",
  "memory",
  "drives",
  "pflash",
  "kernel",
  "nets",
  "passthrough",
  "qmp",
  "monitor",
  "serial",
  "guestAgent",
  "display",
  "incoming",
  "crypto",
  "extraArgs",
] as const;

type Parts = Omit<ResolvedSpec, "extraArgs">;

/** The context of the section readers, with `runtimeDir` read (derived paths need it). */
function openContext(issues: Issues, reader: Reader, allowUnassigned: boolean): Context {
  const runtimeDir = reader.string("runtimeDir", {
    test: (v) => v.startsWith("/"),
    expected: "an absolute directory path",
  });
  return {
    issues,
    allowUnassigned,
    ...(reader.has("runtimeDir") ? { runtimeDir: (runtimeDir ?? "").replace(/\/+$/, "") } : {}),
    runtimeDirValid: runtimeDir !== undefined,
    files: [],
    listeners: [],
    slots: [],
  };
}

type SectionReader = (context: Context, reader: Reader) => Partial<Parts>;

/** A section read only when present (present means on); absent from the result when invalid. */
function optional<K extends keyof Parts & (typeof TOP_LEVEL)[number]>(
  key: K,
  read: (context: Context, value: unknown) => Parts[K] | undefined,
): SectionReader {
  return (context, reader) => {
    if (!reader.has(key)) return {};
    const value = read(context, reader.raw(key));
    return value === undefined ? {} : ({ [key]: value } as Partial<Parts>);
  };
}

/** A runtime file section (`pidfile: {}`), its path derived from `runtimeDir` when not given. */
function runtimeFile(key: "pidfile" | "qmp" | "monitor", socket: boolean): SectionReader {
  return optional(key, (context, value) =>
    readRuntimeFile(context, value, key, runtimeFileNames[key], socket),
  );
}

function readNets(context: Context, reader: Reader): ResolvedNet[] {
  const nets: ResolvedNet[] = [];
  for (const [index, { value, path }] of reader.list("nets").entries()) {
    const net = readNet(context, value, path, index);
    if (net) nets.push(net);
  }
  return nets;
}

/**
 * The readers of every section but `extraArgs`, in the order of the spec: the
 * order issues are reported in, and the order of the duplicate checks (the
 * first user of a port or path keeps it).
 */
const SECTIONS: readonly SectionReader[] = [
  optional("machine", readMachine),
  (_, reader) => ({
    accelerator:
      reader.choice("accelerator", ["kvm", "tcg", "hvf", "whpx", "xen"] as const) ?? "kvm",
  }),
  (_, reader) => ({ defaultDevices: reader.boolean("defaultDevices") ?? false }),
  (_, reader) => ({ daemonize: reader.boolean("daemonize") ?? false }),
  runtimeFile("pidfile", false),
  (context, reader) => ({ cpu: readCpu(context, reader.raw("cpu")) }),
  optional("memory", readMemory),
  (context, reader) => ({ drives: readDrives(context, reader) }),
  (context, reader) => ({ pflash: readPflash(context, reader) }),
  optional("kernel", readKernel),
  (context, reader) => ({ nets: readNets(context, reader) }),
  (context, reader) => ({ passthrough: readPassthrough(context, reader) }),
  runtimeFile("qmp", true),
  runtimeFile("monitor", true),
  optional("serial", readSerial),
  optional("guestAgent", readGuestAgent),
  (context, reader) => ({ display: readDisplay(context, reader.raw("display")) }),
  optional("incoming", readIncoming),
  (context, reader) => ({ crypto: readCrypto(context, reader) }),
];

function readParts(
  context: Context,
  reader: Reader,
  head: Pick<Parts, "name" | "emulator">,
): Parts {
  // Every required field has a reader above that always returns it.
  return Object.assign({ ...head }, ...SECTIONS.map((read) => read(context, reader))) as Parts;
}

/**
 * Reads untrusted input as a spec: every problem is collected, with its field
 * path. Returns the resolved form when there are none.
 */
export function resolveSpec(
  input: unknown,
  options: ValidateOptions = {},
): { spec?: ResolvedSpec; issues: SpecIssue[] } {
  const issues = new Issues();
  const reader = Reader.open(issues, input, "", TOP_LEVEL, "a VM spec object");
  if (!reader) return { issues: issues.list };
  const name = reader.string("name", {
    required: true,
    test: (v) => VM_NAME_PATTERN.test(v),
    expected: VM_NAME_RULE,
  });
  const emulator =
    reader.string("emulator", { expected: "a QEMU binary path or name" }) ?? DEFAULT_EMULATOR;
  const context = openContext(issues, reader, options.allowUnassigned ?? false);
  const parts = readParts(context, reader, { name: name ?? "", emulator });
  const extraArgs = readExtraArgs(context, reader, builderIds(parts));
  crossChecks(context, parts);
  if (issues.list.length > 0) return { issues: issues.list };
  return { spec: { ...parts, extraArgs }, issues: [] };
}

/**
 * Every problem of a spec, each with its field path; empty when the spec is
 * valid. Throws `ERR_INVALID_ARGUMENT` only for invalid `options`.
 */
export function specIssues(input: unknown, options: ValidateOptions = {}): SpecIssue[] {
  checkOptions(options, VALIDATE_OPTIONS);
  return resolveSpec(input, options).issues;
}

/**
 * Checks untrusted input (e.g. parsed JSON) and returns it typed as a `VmSpec`.
 * Throws `InvalidSpecError` listing every problem, including unknown keys.
 */
export function validateSpec(input: unknown, options: ValidateOptions = {}): VmSpec {
  checkOptions(options, VALIDATE_OPTIONS);
  const { issues } = resolveSpec(input, options);
  if (issues.length > 0) throw new InvalidSpecError(issues);
  return input as VmSpec;
}

/** Internal: the resolved spec, or `InvalidSpecError`. */
export function resolveOrThrow(input: unknown, options: ValidateOptions = {}): ResolvedSpec {
  const { spec, issues } = resolveSpec(input, options);
  if (!spec) throw new InvalidSpecError(issues);
  return spec;
}
