import { readdir, readFile } from "node:fs/promises";
import { debug } from "../shared/observe.js";
import { parseProcStat } from "../shared/proc.js";

/** pid → start time: the members of a process tree, so a reused pid is never signalled. */
export type ProcessSet = Map<number, bigint | undefined>;

async function statOf(pid: number) {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * `root` and every live descendant, from one scan of /proc (ppid links). Locally
 * a spawned process shares our process group (so Ctrl-C reaches it and execa's
 * exit cleanup applies): its "group" is its descendants. Without /proc (not
 * Linux) only `root` is known.
 */
export async function processTree(root: number, into: ProcessSet = new Map()): Promise<ProcessSet> {
  const rootStat = await statOf(root);
  if (!into.has(root)) into.set(root, rootStat?.startTime);
  let names: string[];
  try {
    names = await readdir("/proc");
  } catch {
    return into;
  }
  const children = new Map<number, { pid: number; startTime: bigint }[]>();
  await Promise.all(
    names
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        const stat = await statOf(Number(name));
        if (!stat) return;
        const list = children.get(stat.ppid) ?? [];
        list.push({ pid: stat.pid, startTime: stat.startTime });
        children.set(stat.ppid, list);
      }),
  );
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop()!) ?? []) {
      if (into.has(child.pid)) continue;
      into.set(child.pid, child.startTime);
      queue.push(child.pid);
    }
  }
  return into;
}

/**
 * Sends `signal` to every member still alive with the same start time. Returns
 * whether at least one was signalled.
 */
export async function signalProcesses(
  members: ProcessSet,
  signal: NodeJS.Signals,
): Promise<boolean> {
  let any = false;
  await Promise.all(
    [...members].map(async ([pid, startTime]) => {
      if (startTime !== undefined) {
        const now = await statOf(pid);
        if (!now || now.startTime !== startTime || now.state === "Z") return;
      }
      try {
        process.kill(pid, signal);
        any = true;
      } catch (error) {
        debug("local: %s to %d failed: %s", signal, pid, (error as Error).message);
      }
    }),
  );
  return any;
}
