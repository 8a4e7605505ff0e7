/**
 * Parsers for the text of HMP `info` commands, as QEMU 7.2 prints it (older
 * formats noted where they differ). They accept output from
 * `HmpClient.command()`, `QmpClient.hmp()`, or captured by hand (`\r\n` or
 * `\n`; terminal escapes are stripped). Unknown lines inside a known block are
 * skipped; text that is not the command's output throws `HmpParseError`.
 */
import { HmpParseError } from "./errors.js";
import { stripTerminalEscapes } from "./hmp-client.js";
import { formatPciAddress } from "./pci.js";
import type { MigrationStatus, RunState } from "./qmp-types.js";

function lines(text: string): string[] {
  return stripTerminalEscapes(text)
    .split(/\r?\n/)
    .map((line) => line.replace(/\r$/, ""));
}

// ------------------------------------------------------------- info status

/** `info status`. */
export interface HmpStatus {
  running: boolean;
  /** The RunState: `running`, `paused`, or the state in parentheses (`prelaunch`, `postmigrate`…). */
  status: RunState;
  singlestep: boolean;
}

/** `VM status: paused (prelaunch)` → `{ running: false, status: "prelaunch" }`. */
export function parseInfoStatus(text: string): HmpStatus {
  for (const line of lines(text)) {
    if (line.trim() === "") continue;
    const match = /^VM status: (running|paused)( \(single step mode\))?(?: \(([\w-]+)\))?\s*$/.exec(
      line,
    );
    if (!match)
      throw new HmpParseError({ parser: "info status", line, reason: "not a VM status line" });
    const running = match[1] === "running";
    return { running, status: match[3] ?? match[1]!, singlestep: match[2] !== undefined };
  }
  throw new HmpParseError({ parser: "info status", line: text, reason: "empty output" });
}

// ---------------------------------------------------------------- info cpus

/** One line of `info cpus`. */
export interface HmpCpu {
  index: number;
  /** The monitor's current CPU (marked `*`). */
  current: boolean;
  /** Host thread id of the vCPU, when printed (`thread_id=N`). */
  threadId: number | undefined;
  /** Older QEMU (before 6.x) printed `(halted)`. */
  halted: boolean;
}

/**
 * `info cpus`. QEMU 7.2 prints `* CPU #0: thread_id=1234`; older versions put
 * `pc=0x… (halted)` between the colon and `thread_id` (the reference's regex
 * matched only one of the two).
 */
export function parseInfoCpus(text: string): HmpCpu[] {
  const cpus: HmpCpu[] = [];
  for (const line of lines(text)) {
    if (line.trim() === "") continue;
    const match = /^([* ]) ?CPU #(\d+):(.*)$/.exec(line);
    if (!match) throw new HmpParseError({ parser: "info cpus", line, reason: "not a CPU line" });
    const rest = match[3]!;
    const thread = /\bthread_id=(\d+)/.exec(rest);
    cpus.push({
      index: Number(match[2]),
      current: match[1] === "*",
      threadId: thread ? Number(thread[1]) : undefined,
      halted: /\(halted\)/.test(rest),
    });
  }
  if (cpus.length === 0)
    throw new HmpParseError({ parser: "info cpus", line: text, reason: "no CPU listed" });
  return cpus;
}

// ----------------------------------------------------------------- info pci

/** A BAR of `info pci`. `address` is undefined while the BAR is not mapped. */
export interface HmpPciBar {
  index: number;
  type: "io" | "memory";
  /** 32 or 64 for memory BARs. */
  bits: number | undefined;
  prefetchable: boolean;
  address: number | undefined;
  /** Last address of a mapped BAR (QEMU prints `[last]`): the size is `last - address + 1`. */
  last: number | undefined;
}

/** A device of `info pci`. `slot` is parsed as DECIMAL, as QEMU prints it. */
export interface HmpPciDevice {
  /** `0000:BB:SS.F` in hex, like `lspci` and `QmpClient.queryPciDevices()`. */
  address: string;
  bus: number;
  slot: number;
  function: number;
  /** `Ethernet controller`, or `Class 1234` (decimal) for classes QEMU has no name for. */
  className: string;
  /** Numeric class code when QEMU printed one instead of a name. */
  classCode: number | undefined;
  vendorId: number;
  deviceId: number;
  subsystemVendorId: number | undefined;
  subsystemId: number | undefined;
  irq: number | undefined;
  pin: string | undefined;
  /** For bridges: the bus numbers behind it. */
  secondaryBus: number | undefined;
  subordinateBus: number | undefined;
  bars: HmpPciBar[];
  /** The qdev id, or undefined when QEMU printed `id ""`. */
  id: string | undefined;
}

/**
 * `info pci`. Devices start with `  Bus  0, device   3, function 0:` where the
 * device (slot) number is DECIMAL: `device  16` is slot 0x10, address
 * `0000:00:10.0` (the reference read it as hex).
 */
export function parseInfoPci(text: string): HmpPciDevice[] {
  const devices: HmpPciDevice[] = [];
  let device: HmpPciDevice | undefined;
  let expectClass = false;
  for (const line of lines(text)) {
    if (line.trim() === "") continue;
    const header = /^\s*Bus\s+(\d+), device\s+(\d+), function\s+(\d+):\s*$/.exec(line);
    if (header) {
      const [bus, slot, fn] = [Number(header[1]), Number(header[2]), Number(header[3])];
      device = {
        address: formatPciAddress(bus, slot, fn),
        bus,
        slot,
        function: fn,
        className: "",
        classCode: undefined,
        vendorId: 0,
        deviceId: 0,
        subsystemVendorId: undefined,
        subsystemId: undefined,
        irq: undefined,
        pin: undefined,
        secondaryBus: undefined,
        subordinateBus: undefined,
        bars: [],
        id: undefined,
      };
      devices.push(device);
      expectClass = true;
      continue;
    }
    if (!device)
      throw new HmpParseError({ parser: "info pci", line, reason: "text before the first device" });
    const body = line.trim();
    if (expectClass) {
      expectClass = false;
      const match = /^(.*): PCI device ([0-9a-fA-F]+):([0-9a-fA-F]+)$/.exec(body);
      if (!match)
        throw new HmpParseError({
          parser: "info pci",
          line,
          reason: "no class and vendor:device line",
        });
      device.className = match[1]!;
      // QEMU prints a class it has no name for as "Class %04" PRId64: DECIMAL.
      const numeric = /^Class (\d+)$/.exec(device.className);
      if (numeric) device.classCode = Number(numeric[1]);
      device.vendorId = Number.parseInt(match[2]!, 16);
      device.deviceId = Number.parseInt(match[3]!, 16);
      continue;
    }
    for (const [pattern, apply] of PCI_DETAIL_LINES) {
      const match = pattern.exec(body);
      if (match) {
        apply(device, match);
        break;
      }
    }
    // Other lines (BUS n., IO/memory ranges, bridge windows) are skipped.
  }
  if (devices.length === 0 && text.trim() !== "")
    throw new HmpParseError({ parser: "info pci", line: text, reason: "no device listed" });
  return devices;
}

type DetailLine = [RegExp, (device: HmpPciDevice, match: RegExpExecArray) => void];

/** The lines of a device after its class line, by what they start with. */
const PCI_DETAIL_LINES: DetailLine[] = [
  [
    /^PCI subsystem ([0-9a-fA-F]+):([0-9a-fA-F]+)$/,
    (device, match) => {
      device.subsystemVendorId = Number.parseInt(match[1]!, 16);
      device.subsystemId = Number.parseInt(match[2]!, 16);
    },
  ],
  [
    /^IRQ (\d+)(?:, pin ([A-D]))?\.?$/,
    (device, match) => {
      device.irq = Number(match[1]);
      device.pin = match[2];
    },
  ],
  [
    /^secondary bus (\d+)\.?$/,
    (device, match) => {
      device.secondaryBus = Number(match[1]);
    },
  ],
  [
    /^subordinate bus (\d+)\.?$/,
    (device, match) => {
      device.subordinateBus = Number(match[1]);
    },
  ],
  [
    // QEMU 7.2: "BAR0: 32 bit memory at 0xffffffffffffffff [0x0001fffe]." when unmapped;
    // later QEMU: "BAR0: 32 bit memory (not mapped)", and no trailing dots.
    /^BAR(\d+): (?:(I\/O)|(\d+) bit( prefetchable)? memory) (?:at (0x[0-9a-fA-F]+) \[(0x[0-9a-fA-F]+)\]|\(not mapped\))\.?$/,
    (device, match) => {
      const mapped = match[5] === undefined ? undefined : address(match[5]);
      device.bars.push({
        index: Number(match[1]),
        type: match[2] ? "io" : "memory",
        bits: match[3] ? Number(match[3]) : undefined,
        prefetchable: match[4] !== undefined,
        address: mapped,
        last: mapped === undefined ? undefined : address(match[6]!),
      });
    },
  ],
  [
    /^id "(.*)"$/,
    (device, match) => {
      device.id = match[1] === "" ? undefined : match[1];
    },
  ],
];

/** An unmapped BAR's address is all ones (`0xffffffffffffffff`): undefined. */
function address(hex: string): number | undefined {
  const value = BigInt(hex);
  return value === 0xffffffffffffffffn ? undefined : Number(value);
}

// ------------------------------------------------------------- info migrate

/** `info migrate`, numbers in the units QEMU prints (ms, kbytes, pages, mbps). */
export interface HmpMigrationInfo {
  /** `none` when no migration has been started (QEMU prints no status line then). */
  status: MigrationStatus;
  /** The text in parentheses after a `failed` status. */
  errorDescription: string | undefined;
  /** `globals:` section (`store-global-state: on`…). */
  globals: Record<string, string>;
  /** Reasons listed under `Outgoing migration blocked:`. */
  blockedReasons: string[];
  totalTimeMs: number | undefined;
  expectedDowntimeMs: number | undefined;
  downtimeMs: number | undefined;
  setupTimeMs: number | undefined;
  transferredRamKiB: number | undefined;
  remainingRamKiB: number | undefined;
  totalRamKiB: number | undefined;
  throughputMbps: number | undefined;
  /** Every `key: value` line after the status, as printed (`transferred ram` → `341 kbytes`). */
  fields: Record<string, string>;
}

/** `info migrate` text (QEMU 7.2 layout: `globals:`, then `Migration status: …` and statistics). */
export function parseInfoMigrate(text: string): HmpMigrationInfo {
  const info: HmpMigrationInfo = {
    status: "none",
    errorDescription: undefined,
    globals: {},
    blockedReasons: [],
    totalTimeMs: undefined,
    expectedDowntimeMs: undefined,
    downtimeMs: undefined,
    setupTimeMs: undefined,
    transferredRamKiB: undefined,
    remainingRamKiB: undefined,
    totalRamKiB: undefined,
    throughputMbps: undefined,
    fields: {},
  };
  let section: "start" | "globals" | "blocked" | "status" = "start";
  let recognised = false;
  for (const line of lines(text)) {
    if (line.trim() === "") continue;
    if (line === "globals:") {
      section = "globals";
      recognised = true;
      continue;
    }
    if (/^Outgoing migration blocked:/.test(line)) {
      section = "blocked";
      recognised = true;
      continue;
    }
    const status = /^Migration status: ([\w-]+)(?: \((.*)\))?\s*$/.exec(line);
    if (status) {
      section = "status";
      recognised = true;
      info.status = status[1]!;
      info.errorDescription = status[2];
      continue;
    }
    if (section === "blocked" && /^\s/.test(line)) {
      info.blockedReasons.push(line.trim());
      continue;
    }
    const pair = /^([^:]+):\s*(.*)$/.exec(line);
    if (!pair) {
      if (section === "start")
        throw new HmpParseError({
          parser: "info migrate",
          line,
          reason: "not info migrate output",
        });
      continue;
    }
    const [key, value] = [pair[1]!.trim(), pair[2]!.trim()];
    if (section === "globals") info.globals[key] = value;
    else if (section === "start" && key === "capabilities") {
      // QEMU before 2.x: "capabilities: xbzrle: off …" came first.
      info.fields[key] = value;
      recognised = true;
    } else if (section === "start")
      throw new HmpParseError({ parser: "info migrate", line, reason: "not info migrate output" });
    else info.fields[key] = value;
  }
  if (!recognised && text.trim() !== "")
    throw new HmpParseError({
      parser: "info migrate",
      line: text,
      reason: "not info migrate output",
    });
  const number = (key: string, unit: string) => {
    const match = new RegExp(`^([\\d.]+) ${unit}$`).exec(info.fields[key] ?? "");
    return match ? Number(match[1]) : undefined;
  };
  info.totalTimeMs = number("total time", "ms");
  info.expectedDowntimeMs = number("expected downtime", "ms");
  info.downtimeMs = number("downtime", "ms");
  info.setupTimeMs = number("setup", "ms");
  info.transferredRamKiB = number("transferred ram", "kbytes");
  info.remainingRamKiB = number("remaining ram", "kbytes");
  info.totalRamKiB = number("total ram", "kbytes");
  info.throughputMbps = number("throughput", "mbps");
  return info;
}
