import { debuglog } from "node:util";

/** Off unless `NODE_DEBUG=qemu-kvm`; this package never writes to stdout or stderr. */
export const debug = debuglog("qemu-kvm");

/** Text shortened and JSON-quoted for a debug message. */
export function preview(text: string, max = 300): string {
  const shown = text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
  return JSON.stringify(shown);
}
