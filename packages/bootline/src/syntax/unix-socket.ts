/** Longest unix socket path QEMU can bind or connect to (sun_path holds 108 bytes with the NUL). */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107;

/** The length of `text` in UTF-8 bytes (what `sun_path` holds). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}
