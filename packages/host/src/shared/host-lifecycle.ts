import { setMaxListeners } from "node:events";
import type { Duplex } from "node:stream";
import type { CallOptions, Deadline } from "@qemu-kvm/core";
import { HostClosedError } from "../errors/host-errors.js";
import { DEFAULT_TIMEOUTS, defaultHint, type TimedOperation } from "./default-timeouts.js";
import { operations } from "./observe.js";
import type { TrackedProcess } from "./process-base.js";
import { CallDeadline, isStopError, stopError } from "./stop.js";

/**
 * The lifecycle every host shares: calls run under a deadline and are traced
 * and tracked; spawned processes and streams are tracked; `close()` drains
 * them, `destroy()` drops them. The operations are added by the subclasses
 * (`CommandHost`, then `BaseHost`).
 */
export abstract class HostLifecycle implements AsyncDisposable {
  abstract readonly name: string;
  readonly #lifetime = new AbortController();
  #closed: HostClosedError | undefined;
  #closing: Promise<void> | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #processes = new Set<TrackedProcess>();
  readonly #streams = new Set<Duplex>();
  /** Each operation's deadline when its call gives no `timeoutMs`. */
  readonly #defaultTimeouts: Readonly<Record<TimedOperation, number>>;

  constructor(defaultTimeouts: Readonly<Record<TimedOperation, number>> = DEFAULT_TIMEOUTS) {
    this.#defaultTimeouts = defaultTimeouts;
    // Every call in flight listens for destroy(): hundreds at once are normal.
    setMaxListeners(0, this.#lifetime.signal);
  }

  /** After `close()` has drained everything: release the transport. */
  protected abstract shutdown(): Promise<void>;
  /** On `destroy()`: drop the transport now. */
  protected abstract shutdownNow(error: HostClosedError): void;

  /** The host's lifetime: aborted (reason: the `HostClosedError`) by `destroy()`. */
  protected get lifetime(): AbortSignal {
    return this.#lifetime.signal;
  }

  /** Set once the host refuses new calls (closed, destroyed, or its only stream is gone). */
  protected get closedError(): HostClosedError | undefined {
    return this.#closed;
  }

  /**
   * Refuses new calls from now on (`ERR_HOST_CLOSED`, `cause`: `cause`), leaving
   * the calls in flight to fail on their own: for a transport that cannot go on
   * (an SSH connection over a stream that cannot be opened again).
   */
  protected refuseCalls(cause: unknown): void {
    this.#closed ??= new HostClosedError({ host: this.name, cause });
  }

  /**
   * Runs `body` under a deadline (the call's `signal` and `timeoutMs`, else the
   * host's default for `kind`, and the host's lifetime), traced on the `qemu-kvm:host` channel as `kind`, tracked
   * for `close()`. A stopped call rejects with the host's stop error.
   */
  protected run<T>(
    kind: TimedOperation,
    subject: string,
    options: CallOptions,
    body: (deadline: Deadline) => Promise<T>,
  ): Promise<T> {
    const operation = subject === "" ? kind : `${kind} ${subject}`;
    const deadline = new CallDeadline(operation, options, {
      lifetime: this.lifetime,
      defaultTimeoutMs: this.#defaultTimeouts[kind],
      ...(options.timeoutMs === undefined ? { hint: defaultHint(kind) } : {}),
    });
    if (this.#closed) {
      deadline.dispose();
      return Promise.reject(this.#closed);
    }
    const target = subject === "" ? this.name : `${this.name} ${subject}`;
    const promise = operations.trace(kind, target, async () => {
      try {
        if (deadline.stopped) throw stopError(deadline, this.name);
        return await body(deadline);
      } catch (error) {
        // Whatever failed because the call was stopped fails with the stop's error.
        if (deadline.stopped && !isStopError(error)) throw stopError(deadline, this.name);
        throw error;
      } finally {
        deadline.dispose();
      }
    });
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** Tracks a spawned process until it exits: `close()` stops it, `destroy()` kills it. */
  protected trackProcess(process: TrackedProcess): void {
    this.#processes.add(process);
    const forget = () => this.#processes.delete(process);
    process.exited.then(forget, forget);
  }

  /** Tracks a stream until it closes: `close()` and `destroy()` destroy it. */
  protected trackStream(stream: Duplex): Duplex {
    if (this.#closed) {
      stream.destroy();
      throw this.#closed;
    }
    this.#streams.add(stream);
    stream.once("close", () => this.#streams.delete(stream));
    return stream;
  }

  close(): Promise<void> {
    this.#closed ??= new HostClosedError({ host: this.name });
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await Promise.allSettled([...this.#processes].map((process) => process.stop()));
      for (const stream of this.#streams) stream.destroy();
      await this.shutdown();
    })();
    return this.#closing;
  }

  destroy(reason?: unknown): void {
    const error = new HostClosedError({ host: this.name, cause: reason });
    this.#closed ??= error;
    if (this.#lifetime.signal.aborted) return;
    this.#lifetime.abort(error);
    for (const process of this.#processes) process.destroyNow(error);
    for (const stream of this.#streams) stream.destroy();
    this.shutdownNow(error);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
