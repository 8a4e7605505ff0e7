/**
 * PCI addresses, the host form (`lspci`, sysfs, `vfio-pci host=`) and the guest
 * form (QEMU's `addr=` slot on a bus). One reading for every package.
 */

/** A PCI address in numbers (QEMU's `query-pci` gives them so). */
export interface PciAddress {
  readonly domain: number;
  readonly bus: number;
  /** Also called "device". At most 0x1f. */
  readonly slot: number;
  readonly function: number;
}

const HOST_FORM = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/;

/**
 * Reads a host PCI address `[DDDD:]BB:SS.F` in hexadecimal: `0000:81:00.1`,
 * `81:00.1`, `81:0.1` (leading zeros optional, the domain 0 when absent).
 * Undefined when the text is not one (a slot above 0x1f, a function above 7).
 */
export function parsePciAddress(text: string): PciAddress | undefined {
  const match = HOST_FORM.exec(text);
  if (!match) return undefined;
  const slot = Number.parseInt(match[3]!, 16);
  if (slot > 0x1f) return undefined;
  return {
    domain: match[1] === undefined ? 0 : Number.parseInt(match[1], 16),
    bus: Number.parseInt(match[2]!, 16),
    slot,
    function: Number(match[4]),
  };
}

const hex = (value: number, width: number) => value.toString(16).padStart(width, "0");

/** The canonical host form, `DDDD:BB:SS.F` in lower-case hexadecimal (as sysfs names devices). */
export function formatPciAddress(address: PciAddress): string {
  return `${hex(address.domain, 4)}:${hex(address.bus, 2)}:${hex(address.slot, 2)}.${address.function}`;
}

/** The canonical form of a host PCI address written any way {@link parsePciAddress} reads; else undefined. */
export function normalizePciAddress(text: string): string | undefined {
  const address = parsePciAddress(text);
  return address && formatPciAddress(address);
}

/** A device's slot and function on its bus, as QEMU's `addr=` sets them. */
export interface GuestSlot {
  readonly slot: number;
  readonly function: number;
}

const SLOT_FORM = /^(?:0x)?([0-9a-fA-F]{1,2})(?:\.(?:0x)?([0-7]))?$/;

/**
 * Reads a guest slot as QEMU's `addr=` does (`3`, `0x3`, `03.1`), and also
 * `BB:SS.F` or `DDDD:BB:SS.F` when domain and bus are 0 (the root bus).
 * Undefined when the text is none of these.
 */
export function parseGuestSlot(text: string): GuestSlot | undefined {
  const match = SLOT_FORM.exec(text);
  if (match) {
    const slot = Number.parseInt(match[1]!, 16);
    if (slot > 0x1f) return undefined;
    return { slot, function: match[2] === undefined ? 0 : Number(match[2]) };
  }
  const address = parsePciAddress(text);
  if (address?.domain !== 0 || address.bus !== 0) return undefined;
  return { slot: address.slot, function: address.function };
}

/** QEMU's canonical `addr=` value: `SS.F`. */
export function formatGuestSlot(slot: GuestSlot): string {
  return `${hex(slot.slot, 2)}.${slot.function}`;
}
