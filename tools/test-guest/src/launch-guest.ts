/**
 * Boots the test guest under QEMU (TCG) for the demo, the benchmark and tests:
 * a private runtime directory, the serial console on a unix socket held with
 * `wait=on` (the machine starts only once we are connected, so no byte is lost and
 * the clock starts at spawn), QMP for a clean stop, and a raw transcript with a
 * wait-for-text. The console client with login and commands is @qemu-kvm/control's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { type WaitOptions, withDeadline } from "./deadline.js";
import { GuestAbortError, GuestBootError, GuestTimeoutError, tail } from "./errors.js";
import type { GuestQemuOptions } from "./qemu-args.js";
import { runQmpCommands } from "./qmp-commands.js";
import type { TestGuest } from "./test-guest.js";
import { connectWhenReady } from "./wait-for-socket.js";

/** `$QEMU_SYSTEM` or `qemu-system-x86_64`. */
export const QEMU_BINARY = process.env.QEMU_SYSTEM ?? "qemu-system-x86_64";

export interface LaunchGuestOptions
  extends Omit<GuestQemuOptions, "serial" | "qmp" | "guestAgent"> {
  /** Also open the guest agent's socket (at `guestAgentPath`, in the runtime directory). Default false. */
  guestAgent?: boolean;
  /** QEMU arguments added at the end. */
  extraArgs?: readonly string[];
  qemuBinary?: string;
  signal?: AbortSignal;
  /** Deadline for QEMU to start and open its serial socket. Default 30 s. */
  timeoutMs?: number;
}

export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type StopStage = "exited" | "quit" | "SIGTERM" | "SIGKILL";

export interface LaunchedGuest extends AsyncDisposable {
  readonly pid: number;
  readonly argv: readonly string[];
  /** Private (0700) runtime directory with the sockets; removed by `stop()`. */
  readonly directory: string;
  readonly serialPath: string;
  readonly qmpPath: string;
  /** Set when launched with `guestAgent: true`. */
  readonly guestAgentPath: string | undefined;
  /** `performance.now()` just before QEMU was spawned. */
  readonly spawnedAt: number;
  /** The connected serial console (raw bytes of ttyS0, both ways). */
  readonly serial: Socket;
  /** Settles when QEMU has exited. */
  readonly exited: Promise<QemuExit>;
  /** Everything the guest printed on its serial console so far (latin1). */
  output(): string;
  stderr(): string;
  /**
   * Resolves once `pattern` appears in the output at or after offset `from`
   * (default 0) with its end offset and the time since spawn. Rejects with
   * `ERR_GUEST_BOOT` if QEMU exits first, `ERR_TIMEOUT` (default 60 s), `ERR_ABORTED`.
   */
  waitForOutput(
    pattern: string | RegExp,
    options?: WaitOptions & { from?: number },
  ): Promise<{ end: number; sinceSpawnMs: number }>;
  /** Staged: QMP `quit`, SIGTERM, SIGKILL (each with a deadline); then removes the directory. */
  stop(options?: { stageTimeoutMs?: number }): Promise<StopStage>;
}

/** Running QEMUs of this process and their runtime directories. */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;
function killOnExit(child: ChildProcess, directory: string): void {
  live.set(child, directory);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort when the process exits with guests still up (a test runner tearing
    // down, a broken pipe): QEMU must not outlive us, nor its directory.
    process.once("exit", () => {
      for (const [running, runtimeDirectory] of live) {
        running.kill("SIGKILL");
        rmSync(runtimeDirectory, { recursive: true, force: true });
      }
    });
  }
}

function findPattern(text: string, pattern: string | RegExp, from: number): number | undefined {
  if (typeof pattern === "string") {
    const index = text.indexOf(pattern, from);
    return index < 0 ? undefined : index + pattern.length;
  }
  const regex = new RegExp(
    pattern.source,
    pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`,
  );
  regex.lastIndex = from;
  const match = regex.exec(text);
  return match ? match.index + match[0].length : undefined;
}

/** Boots `guest` and connects to its serial console. Nothing is left running if it fails. */
export async function launchGuest(
  guest: TestGuest,
  options: LaunchGuestOptions = {},
): Promise<LaunchedGuest> {
  const {
    guestAgent,
    extraArgs = [],
    qemuBinary = QEMU_BINARY,
    signal,
    timeoutMs,
    ...qemu
  } = options;
  signal?.throwIfAborted();
  const directory = await mkdtemp(join(tmpdir(), "qk-guest-"));
  const serialPath = join(directory, "serial.sock");
  const qmpPath = join(directory, "qmp.sock");
  const guestAgentPath = guestAgent ? join(directory, "qga.sock") : undefined;
  let argv: string[];
  try {
    argv = [
      ...guest.qemuArgs({
        ...qemu,
        serial: { type: "unix", path: serialPath, wait: true },
        qmp: { path: qmpPath },
        ...(guestAgentPath ? { guestAgent: { path: guestAgentPath } } : {}),
      }),
      ...extraArgs,
    ];
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  const spawnedAt = performance.now();
  const child = spawn(qemuBinary, argv, { stdio: ["ignore", "ignore", "pipe"] });
  killOnExit(child, directory);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = tail(stderr + chunk, 16_384);
  });
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  const exited: Promise<QemuExit> = (async () => {
    if (child.exitCode === null && child.signalCode === null)
      await once(child, "close").catch(() => {});
    live.delete(child);
    return { code: child.exitCode, signal: child.signalCode };
  })();
  const exitError = (what: string) => {
    const { exitCode, signalCode } = child;
    const why = spawnError ? spawnError.message : `exit code ${exitCode}, signal ${signalCode}`;
    return new GuestBootError(`QEMU exited ${what} (${why}): ${tail(stderr.trim(), 2048)}`, stderr);
  };
  const failed = exited.then(() => {
    throw exitError("while starting");
  });
  failed.catch(() => {});

  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    await rm(directory, { recursive: true, force: true });
  };

  let output = "";
  const listeners = new Set<() => void>();
  let serial: Socket | undefined;
  try {
    serial = await connectWhenReady(serialPath, { signal, timeoutMs, failed });
    serial.on("data", (chunk: Buffer) => {
      output += chunk.toString("latin1");
      for (const listener of listeners) listener();
    });
    serial.on("error", () => {}); // QEMU's exit closes it; `exited` reports that.
    // QEMU goes on creating the other chardevs once the serial client is in: wait
    // until QMP answers, i.e. setup is complete and every socket listens.
    const qmp = await connectWhenReady(qmpPath, { signal, timeoutMs, failed });
    qmp.destroy();
    await Promise.race([runQmpCommands(qmpPath, [], { signal, timeoutMs }), failed]);
  } catch (error) {
    serial?.destroy();
    // A refused start resets our connections a moment before Node sees QEMU exit:
    // give that exit (an event) up to 2 s, to report QEMU's own words.
    const ours = error instanceof GuestAbortError || error instanceof GuestTimeoutError;
    const exitedOnItsOwn =
      spawnError !== undefined ||
      (!ours &&
        (await Promise.race([exited.then(() => true), delay(2_000, false, { ref: false })])));
    await kill();
    if (exitedOnItsOwn) throw exitError("while starting");
    throw error;
  }

  child.once("close", () => {
    for (const listener of listeners) listener();
  });

  const waitForOutput: LaunchedGuest["waitForOutput"] = (pattern, waitOptions = {}) =>
    withDeadline(
      `waiting for ${String(pattern)} on the serial console`,
      waitOptions,
      60_000,
      (inner) => {
        const from = waitOptions.from ?? 0;
        return new Promise((resolve, reject) => {
          const check = () => {
            const end = findPattern(output, pattern, from);
            if (end !== undefined) {
              finish();
              resolve({ end, sinceSpawnMs: performance.now() - spawnedAt });
            } else if (child.exitCode !== null || child.signalCode !== null) {
              finish();
              reject(exitError(`before ${String(pattern)} appeared`));
            }
          };
          const finish = () => {
            listeners.delete(check);
            inner.removeEventListener("abort", finish);
          };
          listeners.add(check);
          inner.addEventListener("abort", finish, { once: true });
          check();
        });
      },
    );

  let stopping: Promise<StopStage> | undefined;
  const stop = ({ stageTimeoutMs = 5_000 } = {}) => {
    stopping ??= (async (): Promise<StopStage> => {
      const hasExited = () => child.exitCode !== null || child.signalCode !== null;
      const exitWithin = (ms: number) =>
        Promise.race([
          exited.then(() => true),
          new Promise<false>((resolve) => setTimeout(resolve, ms, false).unref()),
        ]);
      let stage: StopStage = "exited";
      try {
        if (!hasExited()) {
          stage = "quit";
          const quit = await runQmpCommands(qmpPath, ["quit"], {
            timeoutMs: stageTimeoutMs,
          }).then(
            () => true,
            () => false,
          );
          // QMP refused or hung up: QEMU may be exiting on its own (a signal, a guest
          // poweroff); give that a moment before escalating.
          const gone = await exitWithin(quit ? stageTimeoutMs : Math.min(stageTimeoutMs, 1_000));
          if (gone && !quit) stage = "exited";
          if (!gone) {
            stage = "SIGTERM";
            child.kill("SIGTERM");
            if (!(await exitWithin(stageTimeoutMs))) {
              stage = "SIGKILL";
              child.kill("SIGKILL");
            }
          }
        }
        await exited;
      } finally {
        serial.destroy();
        await rm(directory, { recursive: true, force: true });
      }
      return stage;
    })();
    return stopping;
  };

  return {
    pid: child.pid!,
    argv,
    directory,
    serialPath,
    qmpPath,
    guestAgentPath,
    spawnedAt,
    serial,
    exited,
    output: () => output,
    stderr: () => stderr,
    waitForOutput,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}
