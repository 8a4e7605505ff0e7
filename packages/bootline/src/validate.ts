import { MAX_CPU } from "./cpu-list.js";
import { InvalidSpecError, type SpecIssue } from "./errors.js";
import { parseHostForward, validPort } from "./host-forward.js";
import { ids, QEMU_ID } from "./ids.js";
import { isIpAddress, isIpv4, isWildcardAddress } from "./ip-address.js";
import { splitOptionList } from "./option-list.js";
import { formatPciAddress, parseGuestSlot, parsePciAddress } from "./pci-address.js";
import {
  DEFAULT_EMULATOR,
  DEFAULT_HOST,
  type DevicePlacement,
  type Entries,
  type ResolvedCrypto,
  type ResolvedForward,
  type ResolvedMemoryBackend,
  type ResolvedNet,
  type ResolvedSerial,
  type ResolvedSpec,
  type RuntimeFile,
  runtimeFileNames,
  type Slot,
  VNC_BASE_PORT,
} from "./resolved-spec.js";
import type { PortSpec, VmSpec } from "./spec.js";

export interface ValidateOptions {
  /**
   * Accept a spec that is not ready to build yet: ports still `"auto"` and runtime
   * files whose path would come from a missing `runtimeDir`. Default false.
   */
  readonly allowUnassigned?: boolean;
}

/** Longest unix socket path QEMU can bind or connect to (sun_path holds 108 bytes with the NUL). */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107;

const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const CONSOLE_DEVICE = /^[A-Za-z][A-Za-z0-9]*$/;
const PROPERTY_KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

class Issues {
  readonly list: SpecIssue[] = [];
  add(path: string, message: string, expected?: string): void {
    this.list.push(expected === undefined ? { path, message } : { path, message, expected });
  }
}

const field = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);
const item = (path: string, index: number) => `${path}[${index}]`;

function show(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") {
    const text = JSON.stringify(value);
    return text.length > 64 ? `${text.slice(0, 60)}…"` : text;
  }
  return String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Reads one untrusted object: every reader records issues and returns undefined on error. */
class Reader {
  constructor(
    readonly issues: Issues,
    readonly object: Record<string, unknown>,
    readonly path: string,
  ) {}

  static open(
    issues: Issues,
    value: unknown,
    path: string,
    allowed: readonly string[],
    expected = "an object",
  ): Reader | undefined {
    if (!isPlainObject(value)) {
      issues.add(path, `is ${show(value)}`, expected);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key))
        issues.add(field(path, key), "is not a known field", `one of ${allowed.join(", ")}`);
    }
    return new Reader(issues, value, path);
  }

  at(key: string): string {
    return field(this.path, key);
  }

  has(key: string): boolean {
    return this.object[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.object[key];
  }

  string(
    key: string,
    options: {
      required?: boolean;
      test?: (value: string) => boolean;
      expected?: string;
      allowEmpty?: boolean;
    } = {},
  ): string | undefined {
    const value = this.object[key];
    const path = this.at(key);
    if (value === undefined) {
      if (options.required) this.issues.add(path, "is missing", options.expected ?? "a string");
      return undefined;
    }
    if (typeof value !== "string") {
      this.issues.add(path, `is ${show(value)}`, options.expected ?? "a string");
      return undefined;
    }
    if (value.includes("\0")) {
      this.issues.add(path, "contains a NUL byte, which no process argument can carry");
      return undefined;
    }
    if (value === "" && !options.allowEmpty) {
      this.issues.add(path, "is empty", options.expected ?? "a non-empty string");
      return undefined;
    }
    if (options.test && !options.test(value)) {
      this.issues.add(path, `${show(value)} is not valid`, options.expected);
      return undefined;
    }
    return value;
  }

  integer(
    key: string,
    min: number,
    max: number,
    options: { required?: boolean; expected?: string } = {},
  ): number | undefined {
    const value = this.object[key];
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max)
      return value;
    const path = this.at(key);
    const expected = options.expected ?? `an integer ${min}–${max}`;
    if (value === undefined) {
      if (options.required) this.issues.add(path, "is missing", expected);
      return undefined;
    }
    if (typeof value !== "number" || !Number.isInteger(value)) {
      this.issues.add(path, `is ${show(value)}`, expected);
      return undefined;
    }
    if (value < min || value > max) {
      this.issues.add(path, `${value} is out of range`, expected);
      return undefined;
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.object[key];
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") {
      this.issues.add(this.at(key), `is ${show(value)}`, "true or false");
      return undefined;
    }
    return value;
  }

  choice<T extends string>(
    key: string,
    values: readonly T[],
    options: { required?: boolean; hint?: (value: string) => string | undefined } = {},
  ): T | undefined {
    const value = this.object[key];
    if (value !== undefined && typeof value === "string" && values.includes(value as T))
      return value as T;
    const path = this.at(key);
    const expected = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
    if (value === undefined) {
      if (options.required) this.issues.add(path, "is missing", expected);
      return undefined;
    }
    const hint = typeof value === "string" ? options.hint?.(value) : undefined;
    this.issues.add(path, `${show(value)} is not supported${hint ? `: ${hint}` : ""}`, expected);
    return undefined;
  }

  list(key: string): { value: unknown; path: string }[] {
    const value = this.object[key];
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.issues.add(this.at(key), `is ${show(value)}`, "an array");
      return [];
    }
    return value.map((entry, index) => ({ value: entry, path: item(this.at(key), index) }));
  }

  /** A port number, or `"auto"` (reported unless unassigned ports are allowed). */
  port(key: string, allowUnassigned: boolean, required = true): PortSpec | undefined {
    const value = this.object[key];
    const path = this.at(key);
    if (value === undefined) {
      if (required) this.issues.add(path, "is missing", 'a port number 1–65535 or "auto"');
      return undefined;
    }
    if (value === "auto") {
      if (!allowUnassigned)
        this.issues.add(
          path,
          'is "auto": the port must be assigned before building',
          "a port number 1–65535 (lease one and call assignPorts)",
        );
      return "auto";
    }
    if (!validPort(value)) {
      this.issues.add(
        path,
        typeof value === "number" ? `${value} is out of range` : `is ${show(value)}`,
        'a port number 1–65535 or "auto"',
      );
      return undefined;
    }
    return value;
  }
}

/** Validation state shared by the section readers. */
interface Context {
  readonly issues: Issues;
  readonly allowUnassigned: boolean;
  readonly runtimeDir?: string;
  readonly runtimeDirValid: boolean;
  /** Every unix socket and file QEMU will use, for the duplicate check. */
  readonly files: { path: string; field: string }[];
  /** Every numeric TCP/UDP listener, for the clash check. */
  readonly listeners: { protocol: string; host: string; port: number; field: string }[];
  /** Every explicit guest PCI placement, for the clash check. */
  readonly slots: { key: string; field: string }[];
}

function absolutePath(reader: Reader, key: string, required = false): string | undefined {
  return reader.string(key, {
    required,
    test: (value) => value.startsWith("/"),
    expected: "an absolute path",
  });
}

function anyPath(reader: Reader, key: string, required = true): string | undefined {
  return reader.string(key, { required, expected: "a path" });
}

/**
 * A runtime file or socket: the given absolute path, or `runtimeDir/name`. Records
 * it for the duplicate check and checks unix socket length.
 */
function runtimePath(
  context: Context,
  reader: Reader,
  key: string,
  defaultName: string,
  socket: boolean,
): string | undefined {
  const path = reader.at(key);
  let value: string | undefined;
  if (reader.has(key)) {
    value = absolutePath(reader, key);
    if (value === undefined) return undefined;
  } else if (context.runtimeDir !== undefined) {
    if (!context.runtimeDirValid) return undefined;
    value = `${context.runtimeDir}/${defaultName}`;
  } else {
    if (!context.allowUnassigned)
      context.issues.add(
        path,
        "has no path, and there is no runtimeDir to derive one from",
        "an absolute path, or spec.runtimeDir",
      );
    return undefined;
  }
  if (socket) {
    const bytes = utf8Length(value);
    if (bytes > MAX_UNIX_SOCKET_PATH_BYTES)
      context.issues.add(
        path,
        `unix socket path ${show(value)} is ${bytes} bytes long${reader.has(key) ? "" : " (derived from runtimeDir)"}`,
        `at most ${MAX_UNIX_SOCKET_PATH_BYTES} bytes`,
      );
  }
  context.files.push({ path: value, field: path });
  return value;
}

function hostAddress(reader: Reader, key: string, ipv4Only = false): string {
  return (
    reader.string(key, {
      test: ipv4Only ? isIpv4 : isIpAddress,
      expected: ipv4Only
        ? "an IPv4 address such as 127.0.0.1"
        : "an IP address such as 127.0.0.1 or ::1",
    }) ?? DEFAULT_HOST
  );
}

function properties(reader: Reader, key: string, reserved: readonly string[]): Entries {
  const value = reader.raw(key);
  if (value === undefined) return [];
  const path = reader.at(key);
  if (!isPlainObject(value)) {
    reader.issues.add(path, `is ${show(value)}`, "an object of property values");
    return [];
  }
  const entries: [string, string][] = [];
  for (const [name, raw] of Object.entries(value)) {
    const at = field(path, name);
    if (!PROPERTY_KEY.test(name)) {
      reader.issues.add(
        at,
        "is not a property name",
        "letters, digits, '_', '.', '-', starting with a letter",
      );
      continue;
    }
    if (reserved.includes(name)) {
      reader.issues.add(
        at,
        "is set by the builder from its own field",
        `none of ${reserved.join(", ")}`,
      );
      continue;
    }
    if (typeof raw === "boolean") entries.push([name, raw ? "on" : "off"]);
    else if (typeof raw === "number" && Number.isFinite(raw)) entries.push([name, String(raw)]);
    else if (typeof raw === "string" && !raw.includes("\0")) entries.push([name, raw]);
    else reader.issues.add(at, `is ${show(raw)}`, "a string, number or boolean");
  }
  return entries;
}

function placement(
  context: Context,
  reader: Reader,
  slotKey: string,
  busKey?: string,
): DevicePlacement {
  let slot: Slot | undefined;
  if (reader.has(slotKey)) {
    const text = reader.string(slotKey, {
      expected: "a guest slot such as 03, 0x3, 03.0 or 00:03.0",
    });
    if (text !== undefined) {
      slot = parseGuestSlot(text);
      if (!slot)
        context.issues.add(
          reader.at(slotKey),
          `${show(text)} is not a guest PCI slot`,
          "SS[.F] in hex (slot ≤ 1f, function ≤ 7), or 0000:00:SS.F on the root bus",
        );
    }
  }
  const bus =
    busKey === undefined
      ? undefined
      : reader.string(busKey, {
          test: (value) => QEMU_ID.test(value),
          expected: "a bus id such as pci.0",
        });
  if (slot) {
    const onRoot = bus === undefined || bus === "pci.0" || bus === "pcie.0";
    if (onRoot && slot.slot === 0)
      context.issues.add(
        reader.at(slotKey),
        "slot 00 of the root bus is the host bridge",
        "a slot from 01 to 1f",
      );
    context.slots.push({
      key: `${onRoot ? "root" : bus}:${slot.slot}.${slot.function}`,
      field: reader.at(slotKey),
    });
  }
  return { ...(slot ? { slot } : {}), ...(bus !== undefined ? { bus } : {}) };
}

function readMachine(context: Context, value: unknown): ResolvedSpec["machine"] {
  const reader = Reader.open(context.issues, value, "machine", [
    "type",
    "gicVersion",
    "properties",
  ]);
  if (!reader) return undefined;
  const type = reader.string("type", {
    test: (v) => MODEL_NAME.test(v),
    expected: "a machine type such as q35, pc or virt",
  });
  const gicVersion = reader.choice("gicVersion", ["2", "3", "4", "host", "max"] as const);
  if (gicVersion !== undefined && type !== undefined && !type.startsWith("virt"))
    context.issues.add(
      reader.at("gicVersion"),
      `applies to the Arm "virt" machine only, not ${show(type)}`,
      'machine.type "virt"',
    );
  return {
    ...(type !== undefined ? { type } : {}),
    ...(gicVersion !== undefined ? { gicVersion } : {}),
    properties: properties(reader, "properties", ["type", "gic-version", "accel"]),
  };
}

function readCpu(context: Context, value: unknown): ResolvedSpec["cpu"] {
  if (value === undefined) return { hostCpus: [] };
  const reader = Reader.open(context.issues, value, "cpu", ["model", "count", "hostCpus"]);
  if (!reader) return { hostCpus: [] };
  const model = reader.string("model", {
    test: (v) => MODEL_NAME.test(v),
    expected: "a CPU model name such as host, max or Skylake-Server",
  });
  const count = reader.integer("count", 1, 1024);
  const hostCpus: number[] = [];
  const seen = new Set<number>();
  const entries = reader.list("hostCpus");
  if (reader.has("hostCpus") && Array.isArray(reader.raw("hostCpus")) && entries.length === 0)
    context.issues.add(reader.at("hostCpus"), "is empty", "at least one host CPU number");
  for (const { value: cpu, path } of entries) {
    if (typeof cpu !== "number" || !Number.isInteger(cpu) || cpu < 0 || cpu > MAX_CPU) {
      context.issues.add(path, `is ${show(cpu)}`, `a host CPU number 0–${MAX_CPU}`);
      continue;
    }
    if (seen.has(cpu)) {
      context.issues.add(path, `CPU ${cpu} is listed twice`, "each host CPU once");
      continue;
    }
    seen.add(cpu);
    hostCpus.push(cpu);
  }
  return {
    ...(model !== undefined ? { model } : {}),
    ...(count !== undefined ? { count } : {}),
    hostCpus,
  };
}

function readMemory(context: Context, value: unknown): ResolvedSpec["memory"] {
  const reader = Reader.open(context.issues, value, "memory", ["sizeMiB", "backend"]);
  if (!reader) return undefined;
  const sizeMiB = reader.integer("sizeMiB", 1, 16 * 1024 * 1024, {
    required: true,
    expected: "a whole number of MiB, 1–16777216",
  });
  let backend: ResolvedMemoryBackend | undefined;
  if (reader.has("backend")) {
    const raw = reader.raw("backend");
    const type = isPlainObject(raw) ? raw.type : undefined;
    const path = reader.at("backend");
    if (type === "file") {
      const file = Reader.open(context.issues, raw, path, ["type", "path", "share", "prealloc"]);
      const filePath = file && absolutePath(file, "path", true);
      if (file && filePath !== undefined)
        backend = {
          type: "file",
          path: filePath,
          share: file.boolean("share") ?? true,
          prealloc: file.boolean("prealloc") ?? true,
        };
    } else if (type === "memfd") {
      const memfd = Reader.open(context.issues, raw, path, [
        "type",
        "share",
        "hugepages",
        "prealloc",
      ]);
      if (memfd)
        backend = {
          type: "memfd",
          share: memfd.boolean("share") ?? true,
          hugepages: memfd.boolean("hugepages") ?? false,
          prealloc: memfd.boolean("prealloc") ?? false,
        };
    } else {
      context.issues.add(field(path, "type"), `is ${show(type)}`, '"file" or "memfd"');
    }
  }
  if (sizeMiB === undefined) return undefined;
  return { sizeMiB, ...(backend ? { backend } : {}) };
}

function readDrives(context: Context, reader: Reader): ResolvedSpec["drives"] {
  const drives: ResolvedSpec["drives"][number][] = [];
  const positions = new Map<string, string>();
  for (const [index, { value, path }] of reader.list("drives").entries()) {
    const drive = Reader.open(context.issues, value, path, [
      "path",
      "format",
      "interface",
      "index",
      "media",
      "readOnly",
      "snapshot",
      "cache",
    ]);
    if (!drive) continue;
    const file = anyPath(drive, "path");
    const format = drive.string("format", {
      test: (v) => MODEL_NAME.test(v),
      expected: "an image format such as raw or qcow2",
    });
    const driveInterface = drive.choice("interface", [
      "virtio",
      "ide",
      "scsi",
      "sd",
      "floppy",
      "mtd",
      "none",
    ] as const);
    const position = drive.integer("index", 0, 255);
    const media = drive.choice("media", ["disk", "cdrom"] as const);
    const cache = drive.choice("cache", [
      "none",
      "writeback",
      "writethrough",
      "directsync",
      "unsafe",
    ] as const);
    if (position !== undefined) {
      const key = `${driveInterface ?? "default"}:${position}`;
      const other = positions.get(key);
      if (other)
        context.issues.add(
          drive.at("index"),
          `${driveInterface ?? "the default interface"} index ${position} is already used by ${other}`,
          "a free index on that interface",
        );
      else positions.set(key, path);
    }
    if (file === undefined) continue;
    drives.push({
      id: ids.drive(index),
      path: file,
      ...(format !== undefined ? { format } : {}),
      ...(driveInterface !== undefined ? { interface: driveInterface } : {}),
      ...(position !== undefined ? { index: position } : {}),
      ...(media !== undefined ? { media } : {}),
      readOnly: drive.boolean("readOnly") ?? false,
      snapshot: drive.boolean("snapshot") ?? false,
      ...(cache !== undefined ? { cache } : {}),
    });
  }
  return drives;
}

function readPflash(context: Context, reader: Reader): ResolvedSpec["pflash"] {
  const result: ResolvedSpec["pflash"][number][] = [];
  for (const [index, { value, path }] of reader.list("pflash").entries()) {
    const flash = Reader.open(context.issues, value, path, ["path", "format", "readOnly"]);
    if (!flash) continue;
    const file = anyPath(flash, "path");
    const format =
      flash.string("format", {
        test: (v) => MODEL_NAME.test(v),
        expected: "an image format such as raw",
      }) ?? "raw";
    const readOnly = flash.boolean("readOnly") ?? false;
    if (file !== undefined)
      result.push({ id: ids.pflash(index), unit: index, path: file, format, readOnly });
  }
  return result;
}

function readKernel(context: Context, value: unknown): ResolvedSpec["kernel"] {
  const reader = Reader.open(context.issues, value, "kernel", [
    "path",
    "initrdPath",
    "console",
    "root",
    "append",
  ]);
  if (!reader) return undefined;
  const path = anyPath(reader, "path");
  const initrdPath = anyPath(reader, "initrdPath", false);
  const words: string[] = [];
  if (reader.has("console")) {
    const consoleReader = Reader.open(context.issues, reader.raw("console"), reader.at("console"), [
      "device",
      "baudRate",
    ]);
    if (consoleReader) {
      const device = consoleReader.string("device", {
        required: true,
        test: (v) => CONSOLE_DEVICE.test(v),
        expected: "a console device such as ttyS0, ttyAMA0 or hvc0",
      });
      const baudRate = consoleReader.integer("baudRate", 1, 4_000_000, {
        expected: "a baud rate such as 115200",
      });
      if (device !== undefined) words.push(`console=${device}${baudRate ? `,${baudRate}` : ""}`);
    }
  }
  const root = reader.string("root", {
    test: (v) => !/[\s\u0000-\u001f\u007f]/.test(v),
    expected: "a root device without spaces, such as /dev/vda1",
  });
  if (root !== undefined) words.push(`root=${root}`);
  const append = reader.string("append", {
    test: (v) => !CONTROL.test(v),
    expected: "a kernel command line without control characters (newlines, tabs…)",
  });
  if (append !== undefined) words.push(append);
  if (path === undefined) return undefined;
  return {
    path,
    ...(initrdPath !== undefined ? { initrdPath } : {}),
    ...(words.length ? { commandLine: words.join(" ") } : {}),
  };
}

const NIC_FIELDS = [
  "model",
  "mac",
  "pciAddress",
  "bus",
  "disableModern",
  "deviceProperties",
] as const;
const NIC_RESERVED = ["id", "netdev", "mac", "addr", "bus", "disable-modern", "driver"];

function readForwards(context: Context, reader: Reader): ResolvedForward[] {
  const forwards: ResolvedForward[] = [];
  for (const { value, path } of reader.list("hostForwards")) {
    const portField = `${path}.hostPort`;
    if (typeof value === "string") {
      const parsed = parseHostForward(value, {
        emptyHostAddress: DEFAULT_HOST,
        emptyHostPort: "auto",
      });
      if ("error" in parsed) {
        context.issues.add(
          path,
          parsed.error,
          "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, e.g. tcp:127.0.0.1:6001-:22",
        );
        continue;
      }
      if (parsed.hostPort === "auto" && !context.allowUnassigned)
        context.issues.add(
          path,
          "has no host port: it must be assigned before building",
          "a port number (lease one and call assignPorts)",
        );
      forwards.push({ ...parsed, field: portField });
      continue;
    }
    const forward = Reader.open(
      context.issues,
      value,
      path,
      ["protocol", "hostAddress", "hostPort", "guestAddress", "guestPort"],
      "an object or a string such as tcp:127.0.0.1:6001-:22",
    );
    if (!forward) continue;
    const protocol = forward.choice("protocol", ["tcp", "udp"] as const) ?? "tcp";
    const host = hostAddress(forward, "hostAddress", true);
    const hostPort = forward.port("hostPort", context.allowUnassigned);
    const guestAddress = forward.string("guestAddress", {
      test: isIpv4,
      expected: "an IPv4 address such as 10.0.2.15",
    });
    const guestPort = forward.integer("guestPort", 1, 65535, { required: true });
    if (hostPort === undefined || guestPort === undefined) continue;
    forwards.push({
      protocol,
      hostAddress: host,
      hostPort,
      ...(guestAddress !== undefined ? { guestAddress } : {}),
      guestPort,
      field: portField,
    });
  }
  for (const forward of forwards)
    if (forward.hostPort !== "auto")
      context.listeners.push({
        protocol: forward.protocol,
        host: forward.hostAddress,
        port: forward.hostPort,
        field: forward.field,
      });
  return forwards;
}

const NET_FIELDS: Record<string, readonly string[]> = {
  user: ["type", ...NIC_FIELDS, "hostForwards"],
  tap: ["type", ...NIC_FIELDS, "ifname", "script", "downscript", "vhost"],
  bridge: ["type", ...NIC_FIELDS, "bridge", "helper"],
  "vhost-user": ["type", ...NIC_FIELDS, "socketPath", "server", "queues", "vhostForce"],
};

function readNet(
  context: Context,
  value: unknown,
  path: string,
  index: number,
): ResolvedNet | undefined {
  const type = isPlainObject(value) ? value.type : undefined;
  const allowed =
    typeof type === "string" && Object.hasOwn(NET_FIELDS, type) ? NET_FIELDS[type] : undefined;
  if (!allowed) {
    if (isPlainObject(value))
      context.issues.add(
        field(path, "type"),
        `is ${show(type)}`,
        '"user", "tap", "bridge" or "vhost-user"',
      );
    else context.issues.add(path, `is ${show(value)}`, "an object");
    return undefined;
  }
  const reader = Reader.open(context.issues, value, path, allowed);
  if (!reader) return undefined;
  const model =
    reader.string("model", {
      test: (v) => MODEL_NAME.test(v) && v !== "virtio",
      expected:
        reader.raw("model") === "virtio"
          ? "virtio-net-pci (QEMU has no device named virtio)"
          : "a NIC model such as virtio-net-pci, e1000, e1000e, rtl8139",
    }) ?? "virtio-net-pci";
  const mac = reader.string("mac", {
    test: (v) => MAC.test(v),
    expected: "a MAC address xx:xx:xx:xx:xx:xx",
  });
  if (mac !== undefined && (Number.parseInt(mac.slice(0, 2), 16) & 1) === 1)
    context.issues.add(
      reader.at("mac"),
      `${mac} is a multicast address`,
      "a unicast MAC (first octet even)",
    );
  const where = placement(context, reader, "pciAddress", "bus");
  const disableModern = reader.boolean("disableModern");
  const virtio = model.startsWith("virtio-net");
  if (disableModern !== undefined && !virtio)
    context.issues.add(
      reader.at("disableModern"),
      `applies to virtio NICs only, not ${model}`,
      "a virtio-net model",
    );
  const deviceProperties = properties(reader, "deviceProperties", NIC_RESERVED);
  const common = {
    index,
    netdevId: ids.netdev(index),
    nicId: ids.nic(index),
    model,
    ...(mac !== undefined ? { mac: mac.toLowerCase() } : {}),
    ...where,
    ...(disableModern !== undefined ? { disableModern } : {}),
    deviceProperties,
  };
  switch (type) {
    case "user":
      return { ...common, type, hostForwards: readForwards(context, reader) };
    case "tap": {
      const ifname = reader.string("ifname", {
        test: (v) => INTERFACE_NAME.test(v),
        expected: "an interface name of 1–15 letters, digits, '_', '.', '-'",
      });
      const script = absolutePath(reader, "script");
      const downscript = absolutePath(reader, "downscript");
      return {
        ...common,
        type,
        ...(ifname !== undefined ? { ifname } : {}),
        ...(script !== undefined ? { script } : {}),
        ...(downscript !== undefined ? { downscript } : {}),
        vhost: reader.boolean("vhost") ?? false,
      };
    }
    case "bridge": {
      const bridge = reader.string("bridge", {
        required: true,
        test: (v) => INTERFACE_NAME.test(v),
        expected: "a bridge name such as br0",
      });
      const helper = absolutePath(reader, "helper");
      if (bridge === undefined) return undefined;
      return { ...common, type, bridge, ...(helper !== undefined ? { helper } : {}) };
    }
    default: {
      if (!virtio)
        context.issues.add(
          reader.at("model"),
          `vhost-user needs a virtio-net NIC, not ${model}`,
          "virtio-net-pci",
        );
      const socketPath = reader.string("socketPath", {
        required: true,
        test: (v) => v.startsWith("/"),
        expected: "an absolute unix socket path",
      });
      if (socketPath !== undefined) {
        const bytes = utf8Length(socketPath);
        if (bytes > MAX_UNIX_SOCKET_PATH_BYTES)
          context.issues.add(
            reader.at("socketPath"),
            `unix socket path is ${bytes} bytes long`,
            `at most ${MAX_UNIX_SOCKET_PATH_BYTES} bytes`,
          );
        context.files.push({ path: socketPath, field: reader.at("socketPath") });
      }
      const queues = reader.integer("queues", 1, 1024) ?? 1;
      const server = reader.boolean("server") ?? false;
      const vhostForce = reader.boolean("vhostForce") ?? true;
      if (socketPath === undefined) return undefined;
      return {
        ...common,
        type: "vhost-user",
        chardevId: ids.netChardev(index),
        socketPath,
        server,
        queues,
        vhostForce,
      };
    }
  }
}

function readPassthrough(context: Context, reader: Reader): ResolvedSpec["passthrough"] {
  const result: ResolvedSpec["passthrough"][number][] = [];
  const hosts = new Map<string, string>();
  for (const [index, { value, path }] of reader.list("passthrough").entries()) {
    const device = Reader.open(context.issues, value, path, [
      "host",
      "driver",
      "pciAddress",
      "bus",
      "deviceProperties",
    ]);
    if (!device) continue;
    const hostText = device.string("host", {
      required: true,
      expected: "a host PCI address [DDDD:]BB:SS.F such as 0000:81:00.1",
    });
    const address = hostText === undefined ? undefined : parsePciAddress(hostText);
    if (hostText !== undefined && !address)
      context.issues.add(
        device.at("host"),
        `${show(hostText)} is not a PCI address`,
        "[DDDD:]BB:SS.F in hex, such as 0000:81:00.1",
      );
    const driver = device.choice("driver", ["vfio-pci", "pci-assign"] as const) ?? "vfio-pci";
    const where = placement(context, device, "pciAddress", "bus");
    const deviceProperties = properties(device, "deviceProperties", [
      "id",
      "host",
      "addr",
      "bus",
      "driver",
    ]);
    if (!address) continue;
    const host = formatPciAddress(address);
    const other = hosts.get(host);
    if (other)
      context.issues.add(
        device.at("host"),
        `${host} is already passed through by ${other}`,
        "each host device once",
      );
    hosts.set(host, path);
    result.push({ id: ids.passthrough(index), driver, host, ...where, deviceProperties });
  }
  return result;
}

function readRuntimeFile(
  context: Context,
  value: unknown,
  path: string,
  defaultName: string,
  socket: boolean,
): RuntimeFile | undefined {
  const reader = Reader.open(context.issues, value, path, ["path"]);
  if (!reader) return undefined;
  const file = runtimePath(context, reader, "path", defaultName, socket);
  return file === undefined ? {} : { path: file };
}

function readLog(context: Context, reader: Reader): RuntimeFile | undefined {
  if (!reader.has("log")) return undefined;
  return readRuntimeFile(
    context,
    reader.raw("log"),
    reader.at("log"),
    runtimeFileNames.serialLog,
    false,
  );
}

function readSerial(context: Context, value: unknown): ResolvedSerial | undefined {
  const type = isPlainObject(value) ? value.type : undefined;
  if (type === "unix") {
    const reader = Reader.open(context.issues, value, "serial", ["type", "path", "log"]);
    if (!reader) return undefined;
    const path = runtimePath(context, reader, "path", runtimeFileNames.serial, true);
    const log = readLog(context, reader);
    return { type, ...(path !== undefined ? { path } : {}), ...(log ? { log } : {}) };
  }
  if (type === "telnet" || type === "tcp") {
    const reader = Reader.open(context.issues, value, "serial", ["type", "host", "port", "log"]);
    if (!reader) return undefined;
    const host = hostAddress(reader, "host");
    const port = reader.port("port", context.allowUnassigned);
    const log = readLog(context, reader);
    if (port === undefined) return undefined;
    if (port !== "auto")
      context.listeners.push({ protocol: "tcp", host, port, field: reader.at("port") });
    return { type, host, port, ...(log ? { log } : {}) };
  }
  if (isPlainObject(value))
    context.issues.add("serial.type", `is ${show(type)}`, '"telnet", "tcp" or "unix"');
  else context.issues.add("serial", `is ${show(value)}`, "an object");
  return undefined;
}

function readGuestAgent(context: Context, value: unknown): ResolvedSpec["guestAgent"] {
  const reader = Reader.open(context.issues, value, "guestAgent", ["path", "pciAddress"]);
  if (!reader) return undefined;
  const path = runtimePath(context, reader, "path", runtimeFileNames.guestAgent, true);
  const { slot } = placement(context, reader, "pciAddress");
  return { ...(path !== undefined ? { path } : {}), ...(slot ? { slot } : {}) };
}

function readDisplay(context: Context, value: unknown): ResolvedSpec["display"] {
  if (value === undefined) return { type: "none" };
  const type = isPlainObject(value) ? value.type : undefined;
  if (type === "none") {
    Reader.open(context.issues, value, "display", ["type"]);
    return { type: "none" };
  }
  if (type === "vnc") {
    const reader = Reader.open(context.issues, value, "display", [
      "type",
      "host",
      "display",
      "vga",
    ]);
    if (!reader) return { type: "none" };
    const host = hostAddress(reader, "host");
    const vga = reader.choice("vga", ["std", "virtio", "cirrus", "qxl", "none"] as const) ?? "std";
    let display: number | "auto" | undefined;
    if (reader.raw("display") === "auto") {
      if (!context.allowUnassigned)
        context.issues.add(
          "display.display",
          'is "auto": the display must be assigned before building',
          "a display number (lease port 5900+N and call assignPorts)",
        );
      display = "auto";
    } else {
      display = reader.integer("display", 0, 65535 - VNC_BASE_PORT, {
        required: true,
        expected: `a VNC display number 0–${65535 - VNC_BASE_PORT} (port 5900 + display) or "auto"`,
      });
      if (display !== undefined)
        context.listeners.push({
          protocol: "tcp",
          host,
          port: VNC_BASE_PORT + display,
          field: "display.display",
        });
    }
    if (display === undefined) return { type: "none" };
    return { type: "vnc", host, display, vga };
  }
  if (isPlainObject(value))
    context.issues.add("display.type", `is ${show(type)}`, '"none" or "vnc"');
  else context.issues.add("display", `is ${show(value)}`, "an object");
  return { type: "none" };
}

function readIncoming(context: Context, value: unknown): ResolvedSpec["incoming"] {
  const reader = Reader.open(context.issues, value, "incoming", ["host", "port"]);
  if (!reader) return undefined;
  const host = hostAddress(reader, "host");
  const port = reader.port("port", context.allowUnassigned);
  if (port === undefined) return undefined;
  if (port !== "auto")
    context.listeners.push({ protocol: "tcp", host, port, field: "incoming.port" });
  return { host, port };
}

function readCrypto(context: Context, reader: Reader): ResolvedCrypto[] {
  const result: ResolvedCrypto[] = [];
  for (const [index, { value, path }] of reader.list("crypto").entries()) {
    const backend = isPlainObject(value) ? value.backend : undefined;
    const names = {
      index,
      chardevId: ids.cryptoChardev(index),
      backendId: ids.cryptoBackend(index),
      deviceId: ids.cryptoDevice(index),
    };
    if (backend === "vhost-user") {
      const device = Reader.open(context.issues, value, path, [
        "backend",
        "socketPath",
        "pciAddress",
      ]);
      if (!device) continue;
      const socketPath = runtimePath(
        context,
        device,
        "socketPath",
        runtimeFileNames.crypto(index),
        true,
      );
      const where = placement(context, device, "pciAddress");
      result.push({
        ...names,
        ...where,
        backend,
        ...(socketPath !== undefined ? { socketPath } : {}),
      });
    } else if (backend === "builtin") {
      const device = Reader.open(context.issues, value, path, ["backend", "pciAddress"]);
      if (!device) continue;
      result.push({ ...names, ...placement(context, device, "pciAddress"), backend });
    } else if (isPlainObject(value)) {
      context.issues.add(
        field(path, "backend"),
        `is ${show(backend)}`,
        '"vhost-user" or "builtin"',
      );
    } else {
      context.issues.add(path, `is ${show(value)}`, "an object");
    }
  }
  return result;
}

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

/** Ids the builder gives out for a resolved spec, for the clash check with `extraArgs`. */
function builderIds(spec: Omit<ResolvedSpec, "extraArgs">): Set<string> {
  const set = new Set<string>();
  for (const net of spec.nets) {
    set.add(net.netdevId).add(net.nicId);
    if (net.type === "vhost-user") set.add(net.chardevId);
  }
  for (const drive of spec.drives) set.add(drive.id);
  for (const flash of spec.pflash) set.add(flash.id);
  for (const device of spec.passthrough) set.add(device.id);
  for (const crypto of spec.crypto)
    set.add(crypto.chardevId).add(crypto.backendId).add(crypto.deviceId);
  if (spec.memory?.backend) set.add(ids.memoryBackend);
  if (spec.qmp) set.add(ids.qmpChardev);
  if (spec.monitor) set.add(ids.monitorChardev);
  if (spec.serial) set.add(ids.serialChardev);
  if (spec.guestAgent) set.add(ids.guestAgentChardev).add(ids.virtioSerial).add(ids.guestAgentPort);
  return set;
}

function readExtraArgs(context: Context, reader: Reader, taken: Set<string>): string[] {
  const args: string[] = [];
  for (const { value, path } of reader.list("extraArgs")) {
    if (typeof value !== "string") {
      context.issues.add(path, `is ${show(value)}`, "a string");
      continue;
    }
    if (value.includes("\0")) {
      context.issues.add(path, "contains a NUL byte, which no process argument can carry");
      continue;
    }
    if (!value.startsWith("-")) {
      for (const part of splitOptionList(value)) {
        if (part.key === "id" && taken.has(part.value))
          context.issues.add(
            path,
            `id ${show(part.value)} is already given by the builder to a device of this spec`,
            "another id",
          );
      }
    }
    args.push(value);
  }
  return args;
}

function crossChecks(context: Context, spec: Omit<ResolvedSpec, "extraArgs">): void {
  const { issues } = context;
  // Listeners: one port per protocol, unless both bind different specific addresses.
  for (const [index, listener] of context.listeners.entries()) {
    const clash = context.listeners
      .slice(0, index)
      .find(
        (other) =>
          other.protocol === listener.protocol &&
          other.port === listener.port &&
          (other.host === listener.host ||
            isWildcardAddress(other.host) ||
            isWildcardAddress(listener.host)),
      );
    if (clash)
      issues.add(
        listener.field,
        `${listener.protocol} port ${listener.port} on ${listener.host} is already used by ${clash.field}`,
        "a port no other listener of this spec uses",
      );
  }
  for (const [index, file] of context.files.entries()) {
    const clash = context.files.slice(0, index).find((other) => other.path === file.path);
    if (clash)
      issues.add(
        file.field,
        `${show(file.path)} is already used by ${clash.field}`,
        "a path of its own",
      );
  }
  for (const [index, slot] of context.slots.entries()) {
    const clash = context.slots.slice(0, index).find((other) => other.key === slot.key);
    if (clash)
      issues.add(
        slot.field,
        `this guest PCI slot is already taken by ${clash.field}`,
        "a free slot on that bus",
      );
  }
  const macs = new Map<string, number>();
  for (const net of spec.nets) {
    if (net.mac === undefined) continue;
    const other = macs.get(net.mac);
    if (other !== undefined)
      issues.add(
        `nets[${net.index}].mac`,
        `${net.mac} is already the MAC of nets[${other}]`,
        "a MAC of its own",
      );
    else macs.set(net.mac, net.index);
  }
  const sharedMemory = spec.memory?.backend?.share === true;
  for (const net of spec.nets)
    if (net.type === "vhost-user" && !sharedMemory)
      issues.add(
        `nets[${net.index}]`,
        "vhost-user needs guest memory shared with its backend",
        'memory.backend { type: "file" | "memfd", share: true }',
      );
  for (const crypto of spec.crypto)
    if (crypto.backend === "vhost-user" && !sharedMemory)
      issues.add(
        `crypto[${crypto.index}]`,
        "vhost-user needs guest memory shared with its backend",
        'memory.backend { type: "file" | "memfd", share: true }',
      );
}

/**
 * Reads untrusted input (JSON, a DTS config, a typed object) as a spec: every
 * problem is collected, with its field path. Returns the resolved form when there
 * are none.
 */
export function resolveSpec(
  input: unknown,
  options: ValidateOptions = {},
): { spec?: ResolvedSpec; issues: SpecIssue[] } {
  const issues = new Issues();
  const reader = Reader.open(issues, input, "", TOP_LEVEL, "a VM spec object");
  if (!reader) return { issues: issues.list };
  const allowUnassigned = options.allowUnassigned ?? false;
  const name = reader.string("name", {
    required: true,
    test: (v) => VM_NAME.test(v),
    expected: "1–63 letters, digits, '.', '_', '-', starting with a letter or digit",
  });
  const emulator =
    reader.string("emulator", { expected: "a QEMU binary path or name" }) ?? DEFAULT_EMULATOR;
  const runtimeDirRaw = reader.string("runtimeDir", {
    test: (v) => v.startsWith("/"),
    expected: "an absolute directory path",
  });
  const context: Context = {
    issues,
    allowUnassigned,
    ...(reader.has("runtimeDir") ? { runtimeDir: (runtimeDirRaw ?? "").replace(/\/+$/, "") } : {}),
    runtimeDirValid: runtimeDirRaw !== undefined,
    files: [],
    listeners: [],
    slots: [],
  };
  const machine = reader.has("machine") ? readMachine(context, reader.raw("machine")) : undefined;
  const accelerator =
    reader.choice("accelerator", ["kvm", "tcg", "hvf", "whpx", "xen"] as const) ?? "kvm";
  const defaultDevices = reader.boolean("defaultDevices") ?? false;
  const daemonize = reader.boolean("daemonize") ?? false;
  const pidfile = reader.has("pidfile")
    ? readRuntimeFile(context, reader.raw("pidfile"), "pidfile", runtimeFileNames.pidfile, false)
    : undefined;
  const cpu = readCpu(context, reader.raw("cpu"));
  const memory = reader.has("memory") ? readMemory(context, reader.raw("memory")) : undefined;
  const drives = readDrives(context, reader);
  const pflash = readPflash(context, reader);
  const kernel = reader.has("kernel") ? readKernel(context, reader.raw("kernel")) : undefined;
  const nets: ResolvedNet[] = [];
  for (const [index, { value, path }] of reader.list("nets").entries()) {
    const net = readNet(context, value, path, index);
    if (net) nets.push(net);
  }
  const passthrough = readPassthrough(context, reader);
  const qmp = reader.has("qmp")
    ? readRuntimeFile(context, reader.raw("qmp"), "qmp", runtimeFileNames.qmp, true)
    : undefined;
  const monitor = reader.has("monitor")
    ? readRuntimeFile(context, reader.raw("monitor"), "monitor", runtimeFileNames.monitor, true)
    : undefined;
  const serial = reader.has("serial") ? readSerial(context, reader.raw("serial")) : undefined;
  const guestAgent = reader.has("guestAgent")
    ? readGuestAgent(context, reader.raw("guestAgent"))
    : undefined;
  const display = readDisplay(context, reader.raw("display"));
  const incoming = reader.has("incoming")
    ? readIncoming(context, reader.raw("incoming"))
    : undefined;
  const crypto = readCrypto(context, reader);
  const partial = {
    name: name ?? "",
    emulator,
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
  const extraArgs = readExtraArgs(context, reader, builderIds(partial));
  crossChecks(context, partial);
  if (issues.list.length > 0) return { issues: issues.list };
  return { spec: { ...partial, extraArgs }, issues: [] };
}

/** Every problem of a spec, each with its field path; empty when the spec is valid. */
export function specIssues(input: unknown, options: ValidateOptions = {}): SpecIssue[] {
  return resolveSpec(input, options).issues;
}

/**
 * Checks untrusted input (e.g. parsed JSON) and returns it typed as a `VmSpec`.
 * Throws `InvalidSpecError` listing every problem, including unknown keys.
 */
export function validateSpec(input: unknown, options: ValidateOptions = {}): VmSpec {
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
