import { armDeadline } from "@qemu-kvm/core";
import { debug } from "../diagnostics.js";
import { QmpCommandError } from "../errors.js";

interface Call {
  readonly command: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  disarm(): void;
}

/**
 * The commands in flight on one QMP connection, by id: each with its deadline
 * armed, settled by its reply, its deadline, or the end of the connection.
 */
export class PendingCalls {
  readonly #calls = new Map<number, Call>();
  #nextId = 1;
  #onIdle: (() => void) | undefined;

  get size(): number {
    return this.#calls.size;
  }

  /**
   * Registers a call and arms its deadline. Returns its id, or `undefined`
   * when it stopped at once (signal already aborted, `timeoutMs` 0): it is
   * rejected then, and must not be sent.
   */
  add(
    command: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ): number | undefined {
    const id = this.#nextId++;
    let stopped = false;
    const disarm = armDeadline(command, signal, timeoutMs, (error) => {
      stopped = true;
      if (this.#calls.delete(id)) {
        debug("qmp: %s (id %d) gave up: %s", command, id, error.message);
        this.#checkIdle();
      }
      reject(error);
    });
    if (stopped) return undefined;
    this.#calls.set(id, { command, resolve, reject, disarm });
    return id;
  }

  /**
   * Settles the call a reply is for (`return` resolves it, `error` rejects it
   * with `ERR_QMP_COMMAND`) and returns its command; undefined when no call
   * waits for that id (one that timed out or was aborted).
   */
  settle(message: Record<string, unknown>): string | undefined {
    const id = message.id;
    const call = typeof id === "number" ? this.#calls.get(id) : undefined;
    if (!call) return undefined;
    this.#calls.delete(id as number);
    call.disarm();
    if ("error" in message) call.reject(commandError(call.command, message.error));
    else call.resolve(message.return);
    this.#checkIdle();
    return call.command;
  }

  /** Rejects every call with the error `reason` makes for it. */
  rejectAll(reason: (command: string) => unknown): void {
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    for (const call of calls) {
      call.disarm();
      call.reject(reason(call.command));
    }
    this.#checkIdle();
  }

  /** Resolves once no call is in flight (undefined when none is now). */
  whenIdle(): Promise<void> | undefined {
    if (this.#calls.size === 0) return undefined;
    return new Promise<void>((resolve) => {
      this.#onIdle = resolve;
    });
  }

  #checkIdle(): void {
    if (this.#calls.size === 0 && this.#onIdle) {
      const idle = this.#onIdle;
      this.#onIdle = undefined;
      idle();
    }
  }
}

function commandError(command: string, value: unknown): QmpCommandError {
  const error = (value ?? {}) as { class?: unknown; desc?: unknown };
  return new QmpCommandError({
    command,
    errorClass: typeof error.class === "string" ? error.class : "GenericError",
    description: typeof error.desc === "string" ? error.desc : JSON.stringify(error),
  });
}
