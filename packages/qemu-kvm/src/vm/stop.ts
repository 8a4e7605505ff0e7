/**
 * The staged stop: ask the guest, then QEMU, then the kernel, each with its own
 * deadline, the process identity (pid and start time) checked before any
 * signal. QEMU closing its monitor is the event that it is exiting; the
 * process being gone (not a zombie) is what counts as stopped.
 */
import { type CallOptions, Deadline, startTimer } from "@qemu-kvm/core";
import { debug } from "../debug.js";
import type { VmSession } from "./session.js";

/** What ended QEMU: the guest powered off (`guest`: its agent or console; `acpi`: the ACPI button), QMP `quit`, or a signal. */
export type StopStage = "guest" | "acpi" | "quit" | "sigterm" | "sigkill";

export interface StopStageReport {
  readonly stage: StopStage;
  /** `stopped`: QEMU exited in this stage; `timeout`: it did not within the stage's deadline; `failed`: the request itself failed. */
  readonly outcome: "stopped" | "timeout" | "failed";
  readonly durationMs: number;
  readonly error?: unknown;
}

export interface StopResult {
  /** The stage that ended QEMU, or `not-running` (it never started, or was gone already). */
  readonly stage: StopStage | "not-running";
  readonly durationMs: number;
  /** Each stage tried, in order. */
  readonly stages: readonly StopStageReport[];
}

export interface StopOptions extends CallOptions {
  /**
   * How long the guest may take to power off after being asked (its agent or
   * console, else the ACPI button). Default 30 000; `0` skips the guest and
   * goes straight to QMP `quit`.
   */
  guestTimeoutMs?: number;
}

/** Deadlines of the stages after the guest's. */
const QUIT_TIMEOUT_MS = 10_000;
const SIGNAL_TIMEOUT_MS = 10_000;

/** Resolves true once `promise` settles, false when `ms` pass first. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = startTimer(ms, () => resolve(false));
    promise.then(
      () => {
        cancel();
        resolve(true);
      },
      () => {
        cancel();
        resolve(true);
      },
    );
  });
}

/**
 * Stops QEMU by stages and resolves which one ended it. The caller then
 * cleans up (files, leases). `session.stopping` is set first, so the monitor
 * closing is not mistaken for a crash.
 */
export async function stopQemu(session: VmSession, options: StopOptions): Promise<StopResult> {
  session.stopping = true;
  const started = performance.now();
  const stages: StopStageReport[] = [];
  const { host, record, qmp } = session;
  const identity = { startTime: BigInt(record.startTime) };
  const gone = () =>
    host.waitForExit(record.pid, { ...identity, timeoutMs: SIGNAL_TIMEOUT_MS }).then(
      () => true,
      () => false,
    );
  const finish = (stage: StopStage | "not-running"): StopResult => ({
    stage,
    durationMs: performance.now() - started,
    stages,
  });
  const attempt = async (
    stage: StopStage,
    request: () => Promise<unknown>,
    exited: () => Promise<boolean>,
  ): Promise<boolean> => {
    const begin = performance.now();
    try {
      await request();
    } catch (error) {
      // A request that failed because QEMU is already going is fine: look.
      debug("stop %s: %s request failed: %s", record.name, stage, (error as Error).message);
      if (!(await exited())) {
        stages.push({ stage, outcome: "failed", durationMs: performance.now() - begin, error });
        return false;
      }
    }
    const ok = await exited();
    stages.push({
      stage,
      outcome: ok ? "stopped" : "timeout",
      durationMs: performance.now() - begin,
    });
    return ok;
  };

  if (qmp.isClosed && !(await host.isAlive(record.pid, identity))) return finish("not-running");

  const deadline = new Deadline(`stop VM ${record.name}`, options);
  try {
    // A guest whose vCPUs are stopped (paused, waiting for a migration) cannot hear the button.
    const running = await qmp.queryStatus({ timeoutMs: QUIT_TIMEOUT_MS }).then(
      (status) => status.running,
      () => false,
    );
    const guestMs = running
      ? Math.min(options.guestTimeoutMs ?? 30_000, deadline.remainingMs())
      : 0;
    if (guestMs > 0 && !qmp.isClosed) {
      // The guest is asked only when it answered before; a firmware or a half-booted guest gets the ACPI button.
      const channel = session.guestReady ? session.channel : undefined;
      const stage: StopStage = channel ? "guest" : "acpi";
      const request = channel
        ? () => channel.powerdown({ timeoutMs: guestMs })
        : () => qmp.execute("system_powerdown", undefined, { timeoutMs: guestMs });
      const exited = async () => (await within(qmp.closed, guestMs)) && (await gone());
      if (await attempt(stage, request, exited)) return finish(stage);
    }
    if (!qmp.isClosed) {
      const exited = async () => (await within(qmp.closed, QUIT_TIMEOUT_MS)) && (await gone());
      if (await attempt("quit", () => qmp.quit({ timeoutMs: QUIT_TIMEOUT_MS }), exited))
        return finish("quit");
    }
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const stage: StopStage = signal === "SIGTERM" ? "sigterm" : "sigkill";
      const alive = await host.isAlive(record.pid, identity);
      if (!alive) return finish(stages.length ? stages[stages.length - 1]!.stage : "not-running");
      if (await attempt(stage, () => host.kill(record.pid, signal, identity), gone))
        return finish(stage);
    }
    return finish("sigkill");
  } finally {
    deadline.dispose();
  }
}
