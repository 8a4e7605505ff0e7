/** A PCI address. Every number is plain (QEMU's `query-pci` gives them so). */
export interface PciAddress {
  readonly domain: number;
  readonly bus: number;
  /** Also called "device". At most 0x1f. */
  readonly slot: number;
  readonly function: number;
}

const full = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/;

/**
 * Parses a PCI address written `[DDDD:]BB:SS.F` in hexadecimal (`lspci` style,
 * e.g. `0000:81:00.1` or `81:00.1`). Undefined when the text is not one.
 */
export function parsePciAddress(text: string): PciAddress | undefined {
  const match = full.exec(text);
  if (!match) return undefined;
  const slot = Number.parseInt(match[3]!, 16);
  if (slot > 0x1f) return undefined;
  return {
    domain: match[1] === undefined ? 0 : Number.parseInt(match[1], 16),
    bus: Number.parseInt(match[2]!, 16),
    slot,
    function: Number.parseInt(match[4]!, 10),
  };
}

const hex = (value: number, width: number) => value.toString(16).padStart(width, "0");

/**
 * Formats `DDDD:BB:SS.F` in lower-case hexadecimal. Use it on `query-pci` results,
 * whose numbers are plain integers (and on HMP `info pci`, whose "device 16" is
 * decimal: slot 0x10).
 */
export function formatPciAddress(address: PciAddress): string {
  return `${hex(address.domain, 4)}:${hex(address.bus, 2)}:${hex(address.slot, 2)}.${address.function}`;
}

const slotForm = /^(?:0x)?([0-9a-fA-F]{1,2})(?:\.(?:0x)?([0-7]))?$/;

/**
 * Parses a guest slot on the device's bus as QEMU's `addr=` reads it (`3`, `0x3`,
 * `03.1`), and also `BB:SS.F` or `DDDD:BB:SS.F` when domain and bus are 0 (the root
 * bus). Undefined when the text is none of these.
 */
export function parseGuestSlot(text: string): { slot: number; function: number } | undefined {
  const match = slotForm.exec(text);
  if (match) {
    const slot = Number.parseInt(match[1]!, 16);
    if (slot > 0x1f) return undefined;
    return { slot, function: match[2] === undefined ? 0 : Number.parseInt(match[2], 10) };
  }
  const address = parsePciAddress(text);
  if (address?.domain !== 0 || address.bus !== 0) return undefined;
  return { slot: address.slot, function: address.function };
}

/** QEMU's canonical `addr=` value: `SS.F`. */
export function formatGuestSlot(slot: { slot: number; function: number }): string {
  return `${hex(slot.slot, 2)}.${slot.function}`;
}
