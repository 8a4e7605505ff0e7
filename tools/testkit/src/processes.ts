import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

/** The fields of /proc/PID/stat after `comm` (state first), read now; throws if `pid` is gone. */
export function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // `comm` is in parentheses and may itself hold spaces and ")": split after the last one.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** True while `pid` exists and is not a zombie. */
export function isAliveNow(pid: number): boolean {
  try {
    return !/^[ZX]/.test(statFields(pid)[0]!);
  } catch {
    return false;
  }
}

/** The start time of `pid` (field 22 of /proc/PID/stat, in clock ticks since boot), read directly. */
export function startTimeNow(pid: number): bigint {
  return BigInt(statFields(pid)[19]!);
}

/**
 * Waits until none of `pids` is alive, and fails with the survivors after
 * `timeoutMs`. These processes are not our children (a grandchild, an anchor
 * started by a worker or through sshd), so there is no exit event to wait on,
 * and a killed one is gone only a moment after its parent saw it exit: this
 * checks /proc until then, within a generous deadline.
 */
export async function waitUntilGone(
  pids: number | readonly number[],
  timeoutMs = 60_000,
): Promise<void> {
  const list = typeof pids === "number" ? [pids] : pids;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = list.filter(isAliveNow);
    if (alive.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`still alive after ${timeoutMs} ms: ${alive.join(", ")}`);
    await delay(20);
  }
}
