import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

/** The state letter of `pid` now (from /proc/PID/stat), `undefined` if it is gone. */
export function stateNow(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

export interface Zombie {
  /** The pid of the zombie: exited, never reaped. */
  pid: number;
  /** Its parent, `sleep 1000`, which does not reap it; kill it to end the zombie. */
  parent: ChildProcess;
}

/**
 * A zombie process and its parent: `sh` starts a subshell in the background,
 * then becomes `sleep 1000` (exec), which never reaps it. The subshell exits
 * only once its parent has become `sleep` (so the shell cannot have reaped it
 * first). Resolves once the child shows state Z (a moment after it exits:
 * there is no event to wait on).
 */
export async function startZombie(): Promise<Zombie> {
  const script =
    '(until read -r c < "/proc/$$/comm" && [ "$c" = sleep ]; do :; done) & echo $!; exec sleep 1000';
  const parent = spawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const [line] = (await once(parent.stdout!, "data")) as [Buffer];
    const pid = Number(line.toString().trim());
    for (let tries = 0; stateNow(pid) !== "Z"; tries++) {
      if (tries > 2000) throw new Error(`${pid} did not become a zombie`);
      await delay(5);
    }
    return { pid, parent };
  } catch (error) {
    parent.kill("SIGKILL");
    throw error;
  }
}
