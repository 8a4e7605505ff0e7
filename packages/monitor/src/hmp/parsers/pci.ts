import { formatPciAddress } from "@qemu-kvm/core";
import { HmpParseError } from "../../errors.js";
import { lines } from "./lines.js";

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
      device = newDevice(Number(header[1]), Number(header[2]), Number(header[3]));
      devices.push(device);
      expectClass = true;
    } else if (!device) {
      throw new HmpParseError({ parser: "info pci", line, reason: "text before the first device" });
    } else if (expectClass) {
      expectClass = false;
      readClassLine(device, line);
    } else {
      readDetailLine(device, line.trim());
    }
  }
  if (devices.length === 0 && text.trim() !== "")
    throw new HmpParseError({ parser: "info pci", line: text, reason: "no device listed" });
  return devices;
}

function newDevice(bus: number, slot: number, fn: number): HmpPciDevice {
  return {
    address: formatPciAddress({ domain: 0, bus, slot, function: fn }),
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
}

/** The line after the header: `Ethernet controller: PCI device 8086:100e`. */
function readClassLine(device: HmpPciDevice, line: string): void {
  const match = /^(.*): PCI device ([0-9a-fA-F]+):([0-9a-fA-F]+)$/.exec(line.trim());
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
}

/** A line after the class line; lines no handler knows (BUS n., ranges, windows) are skipped. */
function readDetailLine(device: HmpPciDevice, body: string): void {
  for (const [pattern, apply] of PCI_DETAIL_LINES) {
    const match = pattern.exec(body);
    if (match) {
      apply(device, match);
      return;
    }
  }
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
