/**
 * The last line of cleanup, for an exit that cuts the teardown short (a second
 * Ctrl-C, which tsx may send by itself when this process is slow to answer the
 * first): synchronously kill every process whose command line names the
 * benchmark's private directory (its QEMUs, its pool's anchors) and remove it.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";

/** Whether a `/proc/PID/cmdline` (arguments separated by NUL) names `dir` or a path in it. */
export function commandLineNames(cmdline: string, dir: string): boolean {
  return cmdline
    .split("\0")
    .some((arg) => arg.includes(`${dir}/`) || arg.endsWith(dir) || arg.includes(`${dir},`));
}

/** The pids whose command line names `dir` (this process excepted), read from `proc`. */
export function pidsNaming(dir: string, proc = "/proc"): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync(proc)) {
    const pid = Number(entry);
    if (!Number.isSafeInteger(pid) || pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`${proc}/${entry}/cmdline`, "utf8");
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    if (commandLineNames(cmdline, dir)) pids.push(pid);
  }
  return pids;
}

/** SIGKILL to every process naming `dir`, then `dir` removed; never throws (it runs at exit). */
export function removeLeftoversSync(dir: string): void {
  try {
    for (const pid of pidsNaming(dir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // at exit there is no one left to tell
  }
}
