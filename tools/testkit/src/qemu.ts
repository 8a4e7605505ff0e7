import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { makeTempDir, type TempDir } from "./temp-dir.js";
import { waitForPath } from "./wait-for-path.js";

export const QEMU = process.env.QEMU_SYSTEM ?? "qemu-system-x86_64";

export interface QemuOptions {
  /** Arguments after the ones the fixture adds (`-nodefaults -accel tcg -qmp …`). */
  args?: readonly string[];
  /**
   * Add `-nodefaults -display none -accel tcg`. Default true. `false`: `args` is the
   * whole command line (e.g. a guest's own), and the fixture adds only its `-qmp`
   * socket, which it needs to tell when QEMU is ready.
   */
  defaults?: boolean;
  /** Add `-S` (start paused). Default true (false without `defaults`): most monitor tests need no guest. */
  paused?: boolean;
  /**
   * Resolve once QEMU has finished its setup: by default when its QMP socket
   * answers with a greeting (QEMU accepts only from its main loop, which runs
   * after every device was created). `false`: resolve at once after spawn.
   */
  waitReady?: boolean;
  timeoutMs?: number;
}

export interface QemuFixture extends AsyncDisposable {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The private runtime directory (removed by `stop()`). */
  readonly dir: string;
  /** The QMP unix socket path (`dir/qmp.sock`). */
  readonly qmpPath: string;
  /** Settles when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything QEMU wrote to stderr so far. */
  stderr(): string;
  /** SIGKILL the process (if alive), wait for it, remove the directory. */
  stop(): Promise<void>;
}

/**
 * Connects, reads QMP's greeting, negotiates and waits for the reply, disconnects.
 * The greeting comes from QEMU's monitor thread as soon as the socket exists, but
 * commands run in the main loop, which starts only after every device was created:
 * a reply means the setup is complete. Rejects if the socket closes first.
 */
async function readGreeting(path: string, signal: AbortSignal): Promise<void> {
  // QEMU binds the socket (the path appears) a moment before it listens: a connect
  // in between is refused. Try again until the deadline.
  for (;;) {
    try {
      return await readGreetingOnce(path, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ECONNREFUSED" || signal.aborted) throw error;
      await delay(10, undefined, { signal }).catch(() => {});
    }
  }
}

function readGreetingOnce(path: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let seen = "";
    let settled = false;
    const done = (error?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const onAbort = () => done(new Error(`no QMP greeting on ${path}: ${String(signal.reason)}`));
    signal.addEventListener("abort", onAbort, { once: true });
    socket.setEncoding("utf8");
    let greeted = false;
    socket.on("data", (chunk: string) => {
      seen += chunk;
      if (!greeted && seen.includes("\n")) {
        greeted = true;
        socket.write('{"execute":"qmp_capabilities"}\n');
      }
      if (greeted && /"(return|error)"/.test(seen)) done();
    });
    socket.once("error", (error) => done(error));
    socket.once("close", () => done(new Error(`QMP socket ${path} closed before its greeting`)));
  });
}

const live = new Set<ChildProcess>();
/** Runtime directories not yet removed by `stop()`. */
const directories = new Set<string>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

/**
 * Starts real QEMU (TCG, no default devices, QMP on a unix socket in a private
 * directory), or with `defaults: false` the caller's own command line plus that
 * QMP socket. Everything it starts is killed by `stop()`, and at process exit
 * at the latest, so a failing test leaves nothing behind.
 */
export async function startQemu(options: QemuOptions = {}): Promise<QemuFixture> {
  const dir: TempDir = await makeTempDir("qk-qemu-");
  directories.add(dir.path);
  const qmpPath = join(dir.path, "qmp.sock");
  const defaults = options.defaults !== false;
  const argv = [
    ...(defaults ? ["-nodefaults", "-display", "none", "-accel", "tcg"] : []),
    "-qmp",
    `unix:${qmpPath},server=on,wait=off`,
    ...((options.paused ?? defaults) ? ["-S"] : []),
    ...(options.args ?? []),
  ];
  const child = spawn(QEMU, argv, { stdio: ["ignore", "ignore", "pipe"] });
  live.add(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = (async () => {
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    live.delete(child);
    return { code: child.exitCode, signal: child.signalCode };
  })();
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    await dir.remove();
    directories.delete(dir.path);
  };
  try {
    await once(child, "spawn");
    if (options.waitReady !== false) {
      const abort = new AbortController();
      const early = exited.then(({ code, signal }) => {
        throw new Error(`QEMU exited (code ${code}, signal ${signal}) during setup:\n${stderr}`);
      });
      early.catch(() => {});
      try {
        const timeoutMs = options.timeoutMs ?? 30_000;
        await Promise.race([
          waitForPath(qmpPath, { signal: abort.signal, timeoutMs }).then(() =>
            readGreeting(qmpPath, AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)])),
          ),
          early,
        ]);
      } catch (error) {
        // A refused start closes the socket before the greeting: report QEMU's own words.
        // Give its exit (an event) up to 2 s to arrive.
        const lateExit = await Promise.race([exited, delay(2_000, undefined)]);
        if (lateExit)
          throw new Error(
            `QEMU exited (code ${lateExit.code}, signal ${lateExit.signal}) during setup:\n${stderr}`,
          );
        throw error;
      } finally {
        abort.abort();
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    child,
    pid: child.pid!,
    dir: dir.path,
    qmpPath,
    exited,
    stderr: () => stderr,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
