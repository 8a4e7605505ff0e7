/**
 * Every error this package raises extends `MonitorError` and carries a literal
 * `code`: match on `error.code`, not on messages.
 *
 * | code | class | when |
 * |---|---|---|
 * | `ERR_QMP_COMMAND` | {@link QmpCommandError} | QEMU answered a command with an error |
 * | `ERR_QMP_CLOSED` | {@link QmpClosedError} | the QMP connection closed before the answer or event came |
 * | `ERR_QMP_PROTOCOL` | {@link QmpProtocolError} | QEMU sent something that is not QMP; the connection is destroyed |
 * | `ERR_QMP_EVENT_OVERFLOW` | {@link QmpEventOverflowError} | an `events()` subscriber fell more than `bufferSize` events behind |
 * | `ERR_QMP_MIGRATION` | {@link MigrationError} | a migration ended `failed` or `cancelled` |
 * | `ERR_HMP_CLOSED` | {@link HmpClosedError} | the HMP connection closed before the command's prompt came |
 * | `ERR_HMP_PROTOCOL` | {@link HmpProtocolError} | the peer is not a QEMU human monitor |
 * | `ERR_HMP_PARSE` | {@link HmpParseError} | HMP text is not what the parser knows |
 * | `ERR_TIMEOUT` | {@link MonitorTimeoutError} | an operation's `timeoutMs` elapsed |
 * | `ERR_ABORTED` | {@link MonitorAbortError} | an operation's `signal` was aborted |
 */
export abstract class MonitorError extends Error {
  abstract readonly code: string;
}

/** QEMU answered `command` with `{"error": {"class", "desc"}}`. */
export class QmpCommandError extends MonitorError {
  override readonly name = "QmpCommandError";
  readonly code = "ERR_QMP_COMMAND" as const;
  /** The command that failed, e.g. `device_del`. */
  readonly command: string;
  /** QMP's error class: `GenericError`, `CommandNotFound`, `DeviceNotFound`… */
  readonly errorClass: string;
  /** QEMU's human-readable description (not meant to be parsed). */
  readonly description: string;

  constructor(fields: { command: string; errorClass: string; description: string }) {
    super(`QMP ${fields.command} failed: ${fields.errorClass}: ${fields.description}`);
    this.command = fields.command;
    this.errorClass = fields.errorClass;
    this.description = fields.description;
  }
}

/**
 * The QMP connection closed (QEMU exited, the stream ended or errored, or the
 * client was closed or destroyed) before `operation` completed. `cause` holds
 * the underlying error, if there was one.
 */
export class QmpClosedError extends MonitorError {
  override readonly name = "QmpClosedError";
  readonly code = "ERR_QMP_CLOSED" as const;
  /** What was waiting: a command name, `waitForEvent STOP`, `connect`… */
  readonly operation: string | undefined;

  constructor(fields: { operation?: string; cause?: unknown } = {}) {
    const because = fields.cause instanceof Error ? `: ${fields.cause.message}` : "";
    super(
      `QMP connection closed${fields.operation ? ` before ${fields.operation} completed` : ""}${because}`,
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.operation = fields.operation;
  }
}

/**
 * QEMU sent something that is not QMP (a line that is not a JSON object, an
 * error reply without an id, a greeting that is not a greeting). Replies can no
 * longer be trusted to match their commands, so the connection is destroyed
 * and every pending call rejects with `ERR_QMP_CLOSED` whose `cause` is this.
 */
export class QmpProtocolError extends MonitorError {
  override readonly name = "QmpProtocolError";
  readonly code = "ERR_QMP_PROTOCOL" as const;
  /** The offending line (at most its first 200 characters). */
  readonly line: string;

  constructor(message: string, fields: { line: string; cause?: unknown }) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.line = excerpt(fields.line);
  }
}

/**
 * An `events()` subscriber fell behind: its queue held `bufferSize` events and
 * another arrived. Thrown by the subscriber's iterator after it has yielded every
 * event received before the loss, so loss is never silent. The subscription is
 * over; other subscribers are unaffected.
 */
export class QmpEventOverflowError extends MonitorError {
  override readonly name = "QmpEventOverflowError";
  readonly code = "ERR_QMP_EVENT_OVERFLOW" as const;
  readonly bufferSize: number;
  /** The name of the first event that could not be queued. */
  readonly lostEvent: string;

  constructor(fields: { bufferSize: number; lostEvent: string }) {
    super(
      `QMP event subscriber fell behind: ${fields.bufferSize} events queued, ${fields.lostEvent} and later events lost`,
    );
    this.bufferSize = fields.bufferSize;
    this.lostEvent = fields.lostEvent;
  }
}

/** A migration ended without completing. */
export class MigrationError extends MonitorError {
  override readonly name = "MigrationError";
  readonly code = "ERR_QMP_MIGRATION" as const;
  /** `failed`, `cancelled`, or `none` (no migration was started). */
  readonly status: string;
  /** QEMU's `error-desc`, when it gave one. */
  readonly errorDescription: string | undefined;

  constructor(fields: { status: string; errorDescription?: string; message?: string }) {
    super(
      fields.message ??
        `migration ${fields.status}${fields.errorDescription ? `: ${fields.errorDescription}` : ""}`,
    );
    this.status = fields.status;
    this.errorDescription = fields.errorDescription;
  }
}

/** The HMP connection closed before `operation` got its prompt back. */
export class HmpClosedError extends MonitorError {
  override readonly name = "HmpClosedError";
  readonly code = "ERR_HMP_CLOSED" as const;
  readonly operation: string | undefined;

  constructor(fields: { operation?: string; cause?: unknown } = {}) {
    const because = fields.cause instanceof Error ? `: ${fields.cause.message}` : "";
    super(
      `HMP connection closed${fields.operation ? ` before ${fields.operation} completed` : ""}${because}`,
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.operation = fields.operation;
  }
}

/** The peer did not behave like QEMU's human monitor (no banner, no prompt). */
export class HmpProtocolError extends MonitorError {
  override readonly name = "HmpProtocolError";
  readonly code = "ERR_HMP_PROTOCOL" as const;
  /** What was received (at most 200 characters). */
  readonly received: string;

  constructor(message: string, fields: { received: string }) {
    super(message);
    this.received = excerpt(fields.received);
  }
}

/** An HMP parser met text it does not understand. */
export class HmpParseError extends MonitorError {
  override readonly name = "HmpParseError";
  readonly code = "ERR_HMP_PARSE" as const;
  /** The parser: `info pci`, `info status`… */
  readonly parser: string;
  /** The line that did not parse (at most 200 characters). */
  readonly line: string;

  constructor(fields: { parser: string; line: string; reason: string }) {
    super(
      `cannot parse ${fields.parser} output: ${fields.reason}: ${JSON.stringify(excerpt(fields.line))}`,
    );
    this.parser = fields.parser;
    this.line = excerpt(fields.line);
  }
}

/** `operation` did not finish within `timeoutMs`. */
export class MonitorTimeoutError extends MonitorError {
  override readonly name = "MonitorTimeoutError";
  readonly code = "ERR_TIMEOUT" as const;
  readonly operation: string;
  readonly timeoutMs: number;

  constructor(fields: { operation: string; timeoutMs: number; hint?: string }) {
    super(
      `${fields.operation} timed out after ${fields.timeoutMs} ms${fields.hint ? ` (${fields.hint})` : ""}`,
    );
    this.operation = fields.operation;
    this.timeoutMs = fields.timeoutMs;
  }
}

/** `operation` was cancelled through its `signal`; `cause` is `signal.reason`. */
export class MonitorAbortError extends MonitorError {
  override readonly name = "MonitorAbortError";
  readonly code = "ERR_ABORTED" as const;
  readonly operation: string;

  constructor(fields: { operation: string; cause: unknown }) {
    super(`${fields.operation} was aborted`, { cause: fields.cause });
    this.operation = fields.operation;
  }
}

function excerpt(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
