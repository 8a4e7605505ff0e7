import { watch } from "node:fs";
import { access } from "node:fs/promises";
import { createConnection, type Socket } from "node:net";
import { basename, dirname } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { type WaitOptions, withDeadline } from "./deadline.js";

/**
 * Connects to the unix socket `path` once it exists. Event-driven: an inotify
 * watch on its directory (armed before the first check, so a socket created in
 * between is not missed), not a poll. `failed` (e.g. the server process exiting)
 * rejects the wait early.
 */
export function connectWhenReady(
  path: string,
  options: WaitOptions & { failed?: Promise<never> } = {},
): Promise<Socket> {
  return withDeadline(`connecting to ${path}`, options, 30_000, async (signal) => {
    await new Promise<void>((resolve, reject) => {
      const watcher = watch(dirname(path), { signal });
      const check = () =>
        access(path).then(
          () => {
            watcher.close();
            resolve();
          },
          () => {},
        );
      watcher.on("change", (_event, file) => {
        if (file === null || String(file) === basename(path)) void check();
      });
      watcher.on("error", (error) => {
        if ((error as { name?: string }).name !== "AbortError") reject(error);
      });
      options.failed?.catch(reject);
      void check();
    });
    // The socket file exists from bind(); connect() is refused until the server's
    // listen() a moment later, which no event announces: retry with a short backoff.
    for (let attempt = 0; ; attempt++) {
      try {
        return await connectOnce(path, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ECONNREFUSED" || attempt >= 200) throw error;
        const pause = delay(Math.min(2 ** attempt, 50), undefined, { signal });
        await (options.failed ? Promise.race([pause, options.failed]) : pause);
      }
    }
  });
}

function connectOnce(path: string, signal: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = createConnection(path);
    const onAbort = () => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) socket.destroy(); // too late: nobody is waiting for it
      resolve(socket);
    });
    socket.once("error", (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}
