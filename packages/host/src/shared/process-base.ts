import { PassThrough, type Readable, type Writable } from "node:stream";
import { type Deadline, startTimer } from "@qemu-kvm/core";
import type { HostClosedError } from "../errors/host-errors.js";
import type { HostProcess, ProcessExit, Signal } from "../host.js";
import { stopError } from "./stop.js";

/** A spawned process as the host tracks it, to stop it on `close()`/`destroy()`. */
export interface TrackedProcess extends HostProcess {
  /** Best effort SIGKILL; `exited` rejects with `error`. */
  destroyNow(error: HostClosedError): void;
}

/** Resolves true if `promise` settles (either way) within `ms` (any length), false otherwise. Never rejects. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = startTimer(ms, () => resolve(false));
    const settled = () => {
      cancel();
      resolve(true);
    };
    promise.then(settled, settled);
  });
}

/**
 * What both transports' processes share: `stop()` and `await using` on top of
 * `kill()` and `exited` (SIGTERM, then SIGKILL after `forceKillAfterMs`), the
 * failure `exited` reports when the process was stopped by its deadline or its
 * host, and the watch of the deadline itself.
 */
export abstract class ProcessBase implements TrackedProcess {
  abstract readonly argv: readonly string[];
  abstract readonly stdin: Writable;
  abstract readonly stdout: Readable;
  abstract readonly stderr: Readable;
  abstract readonly pid: Promise<number>;
  abstract readonly exited: Promise<ProcessExit>;
  abstract kill(signal?: Signal): Promise<boolean>;
  protected abstract readonly forceKillAfterMs: number;
  #stopping: Promise<ProcessExit> | undefined;
  /** Why `exited` rejects although the process exited: its deadline, or its host closed. */
  protected failure: unknown;

  stop(): Promise<ProcessExit> {
    this.#stopping ??= (async () => {
      const started = await this.pid.then(
        () => true,
        () => false,
      );
      if (started) {
        await this.kill("SIGTERM").catch(() => false);
        if (!(await settlesWithin(this.exited, this.forceKillAfterMs)))
          await this.kill("SIGKILL").catch(() => false);
      }
      return this.exited;
    })();
    return this.#stopping;
  }

  destroyNow(error: HostClosedError): void {
    this.failure ??= error;
    this.killNow();
  }

  /** SIGKILL at once, best effort (`destroy()` of the host). */
  protected abstract killNow(): void;

  /**
   * Stops the process when `deadline` (its `signal` and `timeoutMs`) stops:
   * `exited` then rejects with `ERR_ABORTED` or `ERR_TIMEOUT`. Call once
   * `exited` is set; the deadline is disposed when the process has exited.
   */
  protected watch(deadline: Deadline, host: string): void {
    const onStop = () => {
      this.failure ??= stopError(deadline, host);
      void this.stop();
    };
    deadline.signal.addEventListener("abort", onStop, { once: true });
    const done = () => {
      deadline.signal.removeEventListener("abort", onStop);
      deadline.dispose();
    };
    this.exited.then(done, done);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // `exited` already told whatever went wrong (could not start, connection lost).
    await this.stop().catch(() => {});
  }
}

/** What `spawn()` returns when nothing may start: the host is closed, or the deadline already passed. */
export class FailedProcess extends ProcessBase {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly pid: Promise<number>;
  readonly exited: Promise<ProcessExit>;
  protected readonly forceKillAfterMs = 0;

  constructor(
    readonly argv: readonly string[],
    error: unknown,
  ) {
    super();
    const stdin = new PassThrough();
    stdin.resume();
    this.stdin = stdin;
    this.stdout = new PassThrough().end();
    this.stderr = new PassThrough().end();
    this.pid = Promise.reject(error);
    this.exited = Promise.reject(error);
    this.pid.catch(() => {});
    this.exited.catch(() => {});
  }

  async kill(): Promise<boolean> {
    return false;
  }

  protected killNow(): void {}
}
