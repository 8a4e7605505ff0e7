import { debuglog } from "node:util";

/** A debug logger: `util.format`-style arguments, a no-op unless switched on. */
export interface DebugLog {
  (format: string, ...args: unknown[]): void;
  /** True when this section writes (check it before building costly arguments). */
  readonly enabled: boolean;
}

/** The packages' debug sections: `NODE_DEBUG=qemu-kvm:<section>`. */
export type DebugSection = "core" | "bootline" | "host" | "monitor" | "control" | "pool" | "vm";

/**
 * The debug log of one package. Off by default; `NODE_DEBUG=qemu-kvm` switches
 * on every section, `NODE_DEBUG=qemu-kvm:host` (or a list, or `qemu-kvm:*`)
 * only those named. Output goes to stderr through `util.debuglog`, prefixed
 * with the section and the pid; libraries never write anywhere else. Nothing
 * secret is ever logged: no passwords, keys, command input or environment values.
 */
export function debugLog(section: DebugSection): DebugLog {
  // Resolved at the first call: util.debuglog reads NODE_DEBUG once.
  let write: ((format: string, ...args: unknown[]) => void) | null | undefined;
  const resolve = () => {
    const own = debuglog(`qemu-kvm:${section}`);
    if (own.enabled) return own;
    const all = debuglog("qemu-kvm");
    if (all.enabled)
      return (format: string, ...args: unknown[]) => all(`${section}: ${format}`, ...args);
    return null;
  };
  const log = (format: string, ...args: unknown[]) => {
    if (write === undefined) write = resolve();
    write?.(format, ...args);
  };
  Object.defineProperty(log, "enabled", {
    get: () => {
      if (write === undefined) write = resolve();
      return write !== null;
    },
  });
  return log as DebugLog;
}
