/** PCI addresses: `DDDD:BB:SS.F` (domain optional on input), always written in full, lower case. */

const PCI_ADDRESS = /^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/i;

/** The full lower-case form of a PCI address, or `undefined` if `text` is not one. */
export function normalizePciAddress(text: string): string | undefined {
  const match = PCI_ADDRESS.exec(text);
  if (!match) return undefined;
  const [, domain = "0000", bus, slot, fn] = match;
  return `${domain}:${bus}:${slot}.${fn}`.toLowerCase();
}
