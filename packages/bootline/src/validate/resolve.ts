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
import type { ResolvedNet, ResolvedSpec, RuntimeFile } from "../spec/resolved-spec.js";
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

/** A runtime file section (`pidfile: {}`), its path derived from `runtimeDir` when not given. */
function readFileSection(
  context: Context,
  reader: Reader,
  key: "pidfile" | "qmp" | "monitor",
  socket: boolean,
): RuntimeFile | undefined {
  if (!reader.has(key)) return undefined;
  return readRuntimeFile(context, reader.raw(key), key, runtimeFileNames[key], socket);
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
 * Every section but `extraArgs`, each by its reader, in the order of the spec:
 * the order issues are reported in, and the order of the duplicate checks (the
 * first user of a port or path keeps it). An optional section is read only when
 * present (present means on), and left out when invalid.
 */
function readParts(
  context: Context,
  reader: Reader,
  head: Pick<Parts, "name" | "emulator">,
): Parts {
  const when = <T>(
    key: (typeof TOP_LEVEL)[number],
    read: (context: Context, value: unknown) => T,
  ) => (reader.has(key) ? read(context, reader.raw(key)) : undefined);
  const machine = when("machine", readMachine);
  const accelerator =
    reader.choice("accelerator", ["kvm", "tcg", "hvf", "whpx", "xen"] as const) ?? "kvm";
  const defaultDevices = reader.boolean("defaultDevices") ?? false;
  const daemonize = reader.boolean("daemonize") ?? false;
  const pidfile = readFileSection(context, reader, "pidfile", false);
  const cpu = readCpu(context, reader.raw("cpu"));
  const memory = when("memory", readMemory);
  const drives = readDrives(context, reader);
  const pflash = readPflash(context, reader);
  const kernel = when("kernel", readKernel);
  const nets = readNets(context, reader);
  const passthrough = readPassthrough(context, reader);
  const qmp = readFileSection(context, reader, "qmp", true);
  const monitor = readFileSection(context, reader, "monitor", true);
  const serial = when("serial", readSerial);
  const guestAgent = when("guestAgent", readGuestAgent);
  const display = readDisplay(context, reader.raw("display"));
  const incoming = when("incoming", readIncoming);
  const crypto = readCrypto(context, reader);
  return {
    name: head.name,
    emulator: head.emulator,
    ...(machine ? { machine } : {}),
    accelerator,
    defaultDevices,
    daemonize,
    ...(pidfile ? { pidfile } : {}),
    cpu,
    ...(memory ? { memory } : {}),
    drives,
    pflash,
    ...(kernel ? { kernel } : {}),
    nets,
    passthrough,
    ...(qmp ? { qmp } : {}),
    ...(monitor ? { monitor } : {}),
    ...(serial ? { serial } : {}),
    ...(guestAgent ? { guestAgent } : {}),
    display,
    ...(incoming ? { incoming } : {}),
    crypto,
  };
}

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
