import { type CallOptions, Deadline, type DeadlineSettings } from "@qemu-kvm/core";
import { type CommandFacts, HostAbortError, HostTimeoutError } from "../errors/command-errors.js";
import { HostClosedError } from "../errors/host-errors.js";

/** A host call's deadline: core's, keeping the hint its timeout's message gets (the default in effect). */
export class CallDeadline extends Deadline {
  readonly hint: string | undefined;

  constructor(operation: string, options: CallOptions, settings: DeadlineSettings) {
    super(operation, options, settings);
    this.hint = settings.hint;
  }
}

/**
 * The error a stopped call of a host rejects with, from its deadline's stop
 * reason: `ERR_TIMEOUT` or `ERR_ABORTED` with the host (and, for `exec`, the
 * command's facts), or the host's own `ERR_HOST_CLOSED`. Only for a deadline
 * that has stopped.
 */
export function stopError(deadline: Deadline, host: string, facts?: CommandFacts): unknown {
  const stop = deadline.stopReason!;
  switch (stop.kind) {
    case "timeout":
      return new HostTimeoutError({
        operation: deadline.operation,
        timeoutMs: stop.timeoutMs,
        host,
        facts,
        hint: deadline instanceof CallDeadline ? deadline.hint : undefined,
      });
    case "abort":
      return new HostAbortError({ operation: deadline.operation, cause: stop.cause, host, facts });
    case "closed":
      return stop.cause;
  }
}

/** Whether `error` is already what {@link stopError} gives. */
export function isStopError(error: unknown): boolean {
  return (
    error instanceof HostTimeoutError ||
    error instanceof HostAbortError ||
    error instanceof HostClosedError
  );
}
