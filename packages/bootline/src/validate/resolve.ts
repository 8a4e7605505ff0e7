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
import { UUID_PATTERN } from "../syntax/uuid.js";
import {
  readDisplay,
  readGuestAgent,
  readIncoming,
  readRuntimeFile,
  readSerial,
} from "./channels.js";
import type { Context } from "./context.js";
import { crossChecks } from "./cross-checks.js";
import { readCrypto, readPassthrough, readRng } from "./devices.js";
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
  "uuid",
  "emulator",
  "runtimeDir",
  "machine",
  "accelerator",
  "defaultDevices",
  "noUserConfig",
  "daemonize",
  "paused",
  "noReboot",
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
  "rng",
  "crypto",
  "extraArgs",
] as const;

type Parts = Omit<ResolvedSpec, "extraArgs">;
type MutableParts = { -readonly [K in keyof Parts]: Parts[K] };

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

/** `uuid`: RFC 4122 text, kept in lower case. */
function readUuid(reader: Reader): string | undefined {
  return reader
    .string("uuid", {
      test: (v) => UUID_PATTERN.test(v),
      expected: "a UUID, 8-4-4-4-12 hex digits such as 6a1f3c2e-0b7d-4e59-9c1a-2f8e4d6b7a90",
    })
    ?.toLowerCase();
}

/**
 * The machine and the process, in the order of the spec (the order issues are
 * reported in). An optional section is read only when present (present means on)
 * and left out when invalid; the parts are assigned one by one, not spread: this
 * runs for every spec built.
 */
function readMachineParts(context: Context, reader: Reader, parts: MutableParts): void {
  const uuid = readUuid(reader);
  if (uuid !== undefined) parts.uuid = uuid;
  const machine = reader.has("machine") ? readMachine(context, reader.raw("machine")) : undefined;
  if (machine) parts.machine = machine;
  parts.accelerator =
    reader.choice("accelerator", ["kvm", "tcg", "hvf", "whpx", "xen"] as const) ?? "kvm";
  parts.defaultDevices = reader.boolean("defaultDevices") ?? false;
  parts.noUserConfig = reader.boolean("noUserConfig") ?? false;
  parts.daemonize = reader.boolean("daemonize") ?? false;
  parts.paused = reader.boolean("paused") ?? false;
  parts.noReboot = reader.boolean("noReboot") ?? false;
  const pidfile = readFileSection(context, reader, "pidfile", false);
  if (pidfile) parts.pidfile = pidfile;
  parts.cpu = readCpu(context, reader.raw("cpu"));
  const memory = reader.has("memory") ? readMemory(context, reader.raw("memory")) : undefined;
  if (memory) parts.memory = memory;
}

/**
 * The guest's storage, devices and channels, in the order of the spec: also the
 * order of the duplicate checks (the first user of a port or path keeps it).
 */
function readDeviceParts(context: Context, reader: Reader, parts: MutableParts): void {
  parts.drives = readDrives(context, reader);
  parts.pflash = readPflash(context, reader);
  const kernel = reader.has("kernel") ? readKernel(context, reader.raw("kernel")) : undefined;
  if (kernel) parts.kernel = kernel;
  parts.nets = readNets(context, reader);
  parts.passthrough = readPassthrough(context, reader);
  const qmp = readFileSection(context, reader, "qmp", true);
  if (qmp) parts.qmp = qmp;
  const monitor = readFileSection(context, reader, "monitor", true);
  if (monitor) parts.monitor = monitor;
  const serial = reader.has("serial") ? readSerial(context, reader.raw("serial")) : undefined;
  if (serial) parts.serial = serial;
  const agent = reader.has("guestAgent")
    ? readGuestAgent(context, reader.raw("guestAgent"))
    : undefined;
  if (agent) parts.guestAgent = agent;
  parts.display = readDisplay(context, reader.raw("display"));
  const incoming = reader.has("incoming")
    ? readIncoming(context, reader.raw("incoming"))
    : undefined;
  if (incoming) parts.incoming = incoming;
  const rng = reader.has("rng") ? readRng(context, reader.raw("rng")) : undefined;
  if (rng) parts.rng = rng;
  parts.crypto = readCrypto(context, reader);
}

/** Every section but `extraArgs`, each by its reader. */
function readParts(
  context: Context,
  reader: Reader,
  head: Pick<Parts, "name" | "emulator">,
): Parts {
  const parts = { name: head.name, emulator: head.emulator } as MutableParts;
  readMachineParts(context, reader, parts);
  readDeviceParts(context, reader, parts);
  return parts;
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
