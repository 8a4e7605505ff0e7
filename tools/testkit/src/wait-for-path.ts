import { watch } from "node:fs";
import { access } from "node:fs/promises";
import { basename, dirname } from "node:path";

export interface WaitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Resolves once `path` exists. Event-driven: watches the parent directory
 * (inotify) instead of polling, and checks once after arming the watch so a
 * file created in between is not missed.
 */
export async function waitForPath(path: string, options: WaitOptions = {}): Promise<void> {
  const { signal, timeoutMs = 30_000 } = options;
  signal?.throwIfAborted();
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const name = basename(path);
  const controller = new AbortController();
  try {
    await new Promise<void>((resolve, reject) => {
      const watcher = watch(dirname(path), { signal: controller.signal });
      watcher.on("change", (_event, file) => {
        if (file === null || String(file) === name)
          exists().then((yes) => yes && resolve(), reject);
      });
      watcher.on("error", (error) => {
        if ((error as { name?: string }).name !== "AbortError") reject(error);
      });
      combined.addEventListener(
        "abort",
        () =>
          reject(
            timeout.aborted
              ? new Error(`timed out after ${timeoutMs} ms waiting for ${path}`)
              : combined.reason,
          ),
        { once: true, signal: controller.signal },
      );
      exists().then((yes) => yes && resolve(), reject);
    });
  } finally {
    controller.abort();
  }

  function exists(): Promise<boolean> {
    return access(path).then(
      () => true,
      () => false,
    );
  }
}
