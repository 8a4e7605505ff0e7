import { describeValue, excerpt } from "../text.js";
import { hasBrand, markFamily, QemuKvmError } from "./error.js";

/**
 * `operation` did not finish within its `timeoutMs`. Every package rejects with
 * this class (or a subclass carrying more facts, such as the output a timed-out
 * command wrote), so `TimeoutError.isInstance(error)` catches any timeout.
 */
export class TimeoutError extends QemuKvmError {
  static override readonly errorId: string = "TimeoutError";
  readonly code = "ERR_TIMEOUT" as const;
  /** What timed out, e.g. `QMP query-status`, `exec sleep 10`, `openPool`. */
  readonly operation: string;
  readonly timeoutMs: number;

  constructor(fields: { operation: string; timeoutMs: number; hint?: string; cause?: unknown }) {
    super(
      `${fields.operation} timed out after ${fields.timeoutMs} ms${fields.hint ? ` (${fields.hint})` : ""}`,
      { cause: fields.cause },
    );
    this.operation = fields.operation;
    this.timeoutMs = fields.timeoutMs;
  }
}

/** `operation` was cancelled through its `signal`; `cause` is `signal.reason`. */
export class AbortError extends QemuKvmError {
  static override readonly errorId: string = "AbortError";
  readonly code = "ERR_ABORTED" as const;
  readonly operation: string;

  constructor(fields: { operation: string; cause: unknown }) {
    super(`${fields.operation} was aborted`, { cause: fields.cause });
    this.operation = fields.operation;
  }
}

/** The code of a "closed before completion" error: `ERR_QMP_CLOSED`, `ERR_HOST_CLOSED`… */
export type ClosedErrorCode = `ERR_${string}_CLOSED`;

/**
 * A connection, client or pool was closed (by either side, or destroyed)
 * before `operation` completed. Each package subclasses it with its own code
 * (`ERR_QMP_CLOSED`, `ERR_QGA_CLOSED`, `ERR_CONSOLE_CLOSED`, `ERR_HOST_CLOSED`,
 * `ERR_POOL_CLOSED`…); `ClosedError.isInstance(error)` catches all of them.
 * `cause` is what closed it, when something did.
 */
export abstract class ClosedError extends QemuKvmError {
  static override readonly errorId: string = "ClosedError";
  abstract override readonly code: ClosedErrorCode;
  /** What closed: `QMP connection`, `console`, `guest agent channel`, `pool`… */
  readonly resource: string;
  /** What was waiting, when something was. */
  readonly operation: string | undefined;

  constructor(fields: { resource: string; operation?: string; cause?: unknown }) {
    const because = fields.cause instanceof Error ? `: ${fields.cause.message}` : "";
    super(
      `${fields.resource} closed${fields.operation ? ` before ${fields.operation} completed` : ""}${because}`,
      { cause: fields.cause },
    );
    this.resource = fields.resource;
    this.operation = fields.operation;
  }
}

/**
 * A programmer error: an argument or option has the wrong type or value.
 * Thrown synchronously, before anything starts. A `TypeError`, as Node's own
 * `ERR_INVALID_ARG_TYPE` is, and a member of the family all the same
 * (`QemuKvmError.isInstance` recognises it).
 */
export class InvalidArgumentError extends TypeError {
  static readonly errorId: string = "InvalidArgumentError";

  /** True when `value` is an `InvalidArgumentError` made by any copy of the package. */
  static isInstance(value: unknown): value is InvalidArgumentError {
    return hasBrand(value, InvalidArgumentError.errorId);
  }

  override name = "InvalidArgumentError";
  readonly code = "ERR_INVALID_ARGUMENT" as const;
  /** Where the bad value is: `timeoutMs`, `options.ports.serial.to`, `args[2]`. */
  readonly field: string;
  /** What would have been accepted, e.g. `a number of milliseconds ≥ 0`. */
  readonly expected: string;
  /** The value received, described for people (`an object`, `"abc"`, `-1`). */
  readonly received: string;

  /**
   * `new InvalidArgumentError("timeoutMs", "a number ≥ 0", -1)` reads
   * "timeoutMs must be a number ≥ 0 (got -1)". Pass `{ problem }` when the
   * value is of the right kind but wrong for another reason.
   */
  constructor(
    field: string,
    expected: string,
    value: unknown,
    options: { problem?: string; cause?: unknown } = {},
  ) {
    const received = describeValue(value);
    super(
      options.problem
        ? `${field} ${options.problem} (got ${received})`
        : `${field} must be ${expected} (got ${received})`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    markFamily(this, new.target);
    this.field = field;
    this.expected = expected;
    this.received = received;
  }
}

/**
 * A line of a line-framed protocol (QMP, HMP, the guest agent) grew past its
 * limit without a newline. Packages report it as the `cause` of their own
 * protocol error; it does not escape on its own.
 */
export class LineTooLongError extends QemuKvmError {
  static override readonly errorId: string = "LineTooLongError";
  readonly code = "ERR_LINE_TOO_LONG" as const;
  readonly maxLineBytes: number;
  /** The start of the line (at most 200 characters). */
  readonly start: string;

  constructor(fields: { maxLineBytes: number; start: string }) {
    super(`a line exceeded ${fields.maxLineBytes} bytes without a newline`);
    this.maxLineBytes = fields.maxLineBytes;
    this.start = excerpt(fields.start);
  }
}
