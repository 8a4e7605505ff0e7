/** UUIDs as QEMU's `-uuid` takes them and as a guest reads them back from DMI. */

/** RFC 4122 text: 8-4-4-4-12 hexadecimal digits, either case. */
export const UUID_PATTERN =
  /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** The canonical (lower-case) form of a UUID, or undefined when `text` is not one. */
export function canonicalUuid(text: string): string | undefined {
  return UUID_PATTERN.test(text) ? text.toLowerCase() : undefined;
}
