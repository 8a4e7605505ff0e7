/**
 * `vm.json`: what a process that did not start a VM needs to find and drive it
 * again (`attachVm`, `listVms`, the `qemu-kvm` command). No secret is kept in
 * it: a later controller brings its own login.
 */
import { isVmName } from "@qemu-kvm/core";
import { VmRuntimeError } from "../errors.js";

export const RECORD_FORMAT = "qemu-kvm-vm";
export const RECORD_VERSION = 1;

/** How the controller reaches the guest. */
export type ControlKind = "serial-unix" | "serial-telnet" | "agent";

/** A VM's console, as its record keeps it. */
export type ConsoleEndpoint =
  | { readonly type: "unix"; readonly path: string }
  | { readonly type: "telnet"; readonly host: string; readonly port: number };

export interface VmRecord {
  readonly format: typeof RECORD_FORMAT;
  readonly version: typeof RECORD_VERSION;
  readonly name: string;
  readonly uuid: string;
  /** QEMU's pid and start time (field 22 of /proc/PID/stat): a reused pid is not this VM. */
  readonly pid: number;
  readonly startTime: string;
  /** The whole command line, program first. */
  readonly argv: readonly string[];
  readonly runtimeDir: string;
  readonly qmpPath: string;
  readonly control: ControlKind;
  readonly console?: ConsoleEndpoint;
  readonly agentPath?: string;
  /** The host end of the guest's forwarded SSH port, when the VM has one. */
  readonly ssh?: { readonly host: string; readonly port: number };
  /** How it was started: `incoming` waits for a migration. */
  readonly mode: "boot" | "quick" | "incoming";
  /** The pool state directory its leases are in (absent: the host's default). */
  readonly poolStateDir?: string;
  readonly createdAt: string;
  readonly createdBy: { readonly machine: string; readonly pid: number };
}

/** The record as JSON text, one object. */
export function formatRecord(record: VmRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

const MAX_RECORD_BYTES = 256 * 1024;

type Json = Record<string, unknown>;

function fail(path: string, reason: string): never {
  throw new VmRuntimeError({ path, reason: `not a VM record of this library: ${reason}` });
}

function text(object: Json, key: string, path: string): string {
  const value = object[key];
  if (typeof value !== "string" || value.length === 0 || value.length > 4096)
    fail(path, `${key} is not a string`);
  return value;
}

function absolute(object: Json, key: string, path: string): string {
  const value = text(object, key, path);
  if (!value.startsWith("/") || value.includes("\0")) fail(path, `${key} is not an absolute path`);
  return value;
}

function port(value: unknown, key: string, path: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535)
    fail(path, `${key} is not a port`);
  return value;
}

function consoleOf(value: unknown, path: string): ConsoleEndpoint | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) fail(path, "console is not an object");
  const console = value as Json;
  if (console.type === "unix") return { type: "unix", path: absolute(console, "path", path) };
  if (console.type === "telnet")
    return {
      type: "telnet",
      host: text(console, "host", path),
      port: port(console.port, "console.port", path),
    };
  return fail(path, "console.type is neither unix nor telnet");
}

/**
 * Reads a record, checking every field (the directory is private, but a record
 * is still input: a newer version, a truncated write, a hand edit). Throws
 * `ERR_VM_RUNTIME` naming what is wrong.
 */
export function parseRecord(textContent: string, path: string): VmRecord {
  if (textContent.length > MAX_RECORD_BYTES) fail(path, "larger than 256 KiB");
  let parsed: unknown;
  try {
    parsed = JSON.parse(textContent);
  } catch {
    fail(path, "not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    fail(path, "not a JSON object");
  const object = parsed as Json;
  if (object.format !== RECORD_FORMAT) fail(path, `format is not ${RECORD_FORMAT}`);
  if (object.version !== RECORD_VERSION)
    fail(path, `version ${String(object.version)} is not ${RECORD_VERSION}`);
  const name = text(object, "name", path);
  if (!isVmName(name)) fail(path, "name is not a VM name");
  const pid = object.pid;
  if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid < 1) fail(path, "pid");
  const startTime = text(object, "startTime", path);
  if (!/^\d{1,20}$/.test(startTime)) fail(path, "startTime is not a number");
  const argv = object.argv;
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((arg) => typeof arg !== "string"))
    fail(path, "argv is not a list of strings");
  const control = object.control;
  if (control !== "serial-unix" && control !== "serial-telnet" && control !== "agent")
    fail(path, "control is not serial-unix, serial-telnet or agent");
  const mode = object.mode;
  if (mode !== "boot" && mode !== "quick" && mode !== "incoming") fail(path, "mode");
  const createdBy = object.createdBy as Json | undefined;
  if (typeof createdBy !== "object" || createdBy === null) fail(path, "createdBy");
  const ssh = object.ssh as Json | undefined;
  const record: VmRecord = {
    format: RECORD_FORMAT,
    version: RECORD_VERSION,
    name,
    uuid: text(object, "uuid", path),
    pid,
    startTime,
    argv: argv as string[],
    runtimeDir: absolute(object, "runtimeDir", path),
    qmpPath: absolute(object, "qmpPath", path),
    control,
    mode,
    createdAt: text(object, "createdAt", path),
    createdBy: {
      machine: text(createdBy, "machine", path),
      pid: typeof createdBy.pid === "number" ? createdBy.pid : fail(path, "createdBy.pid"),
    },
  };
  const console = consoleOf(object.console, path);
  const agentPath =
    object.agentPath === undefined ? undefined : absolute(object, "agentPath", path);
  const poolStateDir =
    object.poolStateDir === undefined ? undefined : absolute(object, "poolStateDir", path);
  return {
    ...record,
    ...(console ? { console } : {}),
    ...(agentPath ? { agentPath } : {}),
    ...(ssh
      ? { ssh: { host: text(ssh, "host", path), port: port(ssh.port, "ssh.port", path) } }
      : {}),
    ...(poolStateDir ? { poolStateDir } : {}),
  };
}
