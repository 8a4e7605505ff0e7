/**
 * The kinds of host port a VM asks for and a pool leases, each from its own
 * range:
 * - `forward`: a guest port forwarded to the host (user networking `hostfwd`, e.g. the guest's SSH);
 * - `serial`: the serial console over telnet (`-serial telnet:…`);
 * - `migration`: where the VM listens for an incoming migration (`-incoming tcp:…`);
 * - `display`: the VNC display (`-vnc`; port 5900 + display number).
 */
export type PortKind = "forward" | "serial" | "migration" | "display";

export const PORT_KINDS: readonly PortKind[] = Object.freeze([
  "forward",
  "serial",
  "migration",
  "display",
]);

export function isPortKind(value: unknown): value is PortKind {
  return typeof value === "string" && (PORT_KINDS as readonly string[]).includes(value);
}
