import { readFileSync, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { isAliveNow } from "@qemu-kvm/testkit";

function pidsIn(text: string): number[] {
  return text
    .split("\n")
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

/** SIGKILLs the pids a test's commands wrote to `path` (one per line), if still alive. */
export function killRecorded(path: string): void {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return;
  }
  for (const pid of pidsIn(text)) {
    if (pid <= 1 || !isAliveNow(pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Resolves with the pids written one per line to `path` once it holds `count`
 * of them. Event-driven: watches the directory, reads again on each change.
 */
export async function readPids(path: string, count: number, timeoutMs = 60_000): Promise<number[]> {
  const controller = new AbortController();
  const read = async () => pidsIn(await readFile(path, "utf8").catch(() => ""));
  try {
    return await new Promise<number[]>((resolve, reject) => {
      const check = () =>
        read().then((pids) => {
          if (pids.length >= count) resolve(pids);
        }, reject);
      const watcher = watch(dirname(path), { signal: controller.signal });
      watcher.on("change", (_event, file) => {
        if (file === null || String(file) === basename(path)) void check();
      });
      watcher.on("error", (error) => {
        if ((error as { name?: string }).name !== "AbortError") reject(error);
      });
      const timer = setTimeout(
        () => reject(new Error(`${path} did not get ${count} pids in ${timeoutMs} ms`)),
        timeoutMs,
      );
      controller.signal.addEventListener("abort", () => clearTimeout(timer));
      void check();
    });
  } finally {
    controller.abort();
  }
}
