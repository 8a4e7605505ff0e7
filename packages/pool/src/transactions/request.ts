/**
 * What a transaction sends the anchor (see ../anchor/script.ts): one request
 * line naming the facts to read under the lock, then the decision — abandon,
 * or commit a new state followed by the nonce that proves it all arrived.
 */
import type { Needs } from "./operation.js";

/**
 * `t NET LO HI PIDS PCI`: the sockets bound to ports LO–HI (NET 1), the
 * processes PIDS, the sysfs facts of the PCI devices (`-` for none). With
 * `sysfs` false (a described topology) no PCI device is read.
 */
export function requestLine(needs: readonly Needs[], sysfs: boolean): string {
  let lo = 65535;
  let hi = 0;
  const pids = new Set<number>();
  const pci = new Set<string>();
  for (const need of needs) {
    if (need.ports) {
      lo = Math.min(lo, need.ports.lo);
      hi = Math.max(hi, need.ports.hi);
    }
    for (const pid of need.pids ?? []) pids.add(pid);
    if (sysfs) for (const address of need.pci ?? []) pci.add(address);
  }
  const net = hi > 0 ? `1 ${lo} ${hi}` : "0 0 0";
  return `t ${net} ${[...pids].join(",") || "-"} ${[...pci].join(",") || "-"}\n`;
}

/** Nothing to change: the anchor releases the lock. */
export const ABANDON = "a\n";

/** `c SIZE`, the new state, and the nonce line: the anchor renames it into place. */
export function commitMessage(state: string, nonce: string): string {
  return `c ${Buffer.byteLength(state)}\n${state}${nonce}\n`;
}
