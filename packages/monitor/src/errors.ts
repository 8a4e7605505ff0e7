import {
  ClosedError,
  excerpt,
  QapiCommandError,
  QemuKvmError,
  type SharedErrorCode,
} from "@qemu-kvm/core";

/**
 * Every code this package throws or rejects with: its own (`ERR_QMP_*`,
 * `ERR_HMP_*`) and the shared ones of `@qemu-kvm/core` it uses. The README
 * says when each occurs.
 */
export type MonitorErrorCode =
  | "ERR_QMP_COMMAND"
  | "ERR_QMP_CLOSED"
  | "ERR_QMP_PROTOCOL"
  | "ERR_QMP_EVENT_OVERFLOW"
  | "ERR_QMP_MIGRATION"
  | "ERR_QMP_UNKNOWN_COMMAND"
  | "ERR_QMP_UNKNOWN_ARGUMENT"
  | "ERR_HMP_CLOSED"
  | "ERR_HMP_PROTOCOL"
  | "ERR_HMP_PARSE"
  | SharedErrorCode;

/** QEMU answered `command` with `{"error": {"class", "desc"}}` (`command`, `errorClass`, `description`). */
export class QmpCommandError extends QapiCommandError {
  static override readonly errorId: string = "QmpCommandError";
  readonly code = "ERR_QMP_COMMAND" as const;

  constructor(fields: { command: string; errorClass: string; description: string }) {
    super("QMP", fields);
  }
}

/**
 * The QMP connection closed (QEMU exited, the stream ended or errored, or the
 * client was closed or destroyed) before `operation` completed. `cause` holds
 * what closed it, if something failed.
 */
export class QmpClosedError extends ClosedError {
  static override readonly errorId: string = "QmpClosedError";
  readonly code = "ERR_QMP_CLOSED" as const;

  constructor(fields: { operation?: string; cause?: unknown } = {}) {
    super({ resource: "QMP connection", ...fields });
  }
}

/**
 * QEMU sent something that is not QMP (a line that is not a JSON object, an
 * error reply without an id, a greeting that is not a greeting, a line longer
 * than `maxLineBytes`). Replies can no longer be trusted to match their
 * commands, so the connection is destroyed and every pending call rejects with
 * `ERR_QMP_CLOSED` whose `cause` is this.
 */
export class QmpProtocolError extends QemuKvmError {
  static override readonly errorId: string = "QmpProtocolError";
  readonly code = "ERR_QMP_PROTOCOL" as const;
  /** The offending line (at most its first 200 characters). */
  readonly line: string;

  constructor(message: string, fields: { line: string; cause?: unknown }) {
    super(message, { cause: fields.cause });
    this.line = excerpt(fields.line);
  }
}

/**
 * An `events()` subscriber fell behind: its queue held `bufferSize` events and
 * another arrived. Thrown by the subscriber's iterator after it has yielded every
 * event received before the loss, so loss is never silent. The subscription is
 * over; other subscribers are unaffected.
 */
export class QmpEventOverflowError extends QemuKvmError {
  static override readonly errorId: string = "QmpEventOverflowError";
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

/** A migration ended without completing, or cannot be followed. */
export class QmpMigrationError extends QemuKvmError {
  static override readonly errorId: string = "QmpMigrationError";
  readonly code = "ERR_QMP_MIGRATION" as const;
  /** `failed`, `cancelled`, or the status of a migration that cannot be followed. */
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

/**
 * Strict mode (`connectQmp(stream, { strict: true })`): the connected QEMU's
 * schema has no command `command`. Nothing was sent.
 */
export class QmpUnknownCommandError extends QemuKvmError {
  static override readonly errorId: string = "QmpUnknownCommandError";
  readonly code = "ERR_QMP_UNKNOWN_COMMAND" as const;
  readonly command: string;
  /** The connected QEMU's version, e.g. `7.2.22`. */
  readonly qemuVersion: string;

  constructor(fields: { command: string; qemuVersion: string }) {
    super(
      `QEMU ${fields.qemuVersion} has no QMP command ${JSON.stringify(fields.command)} (strict mode: nothing was sent)`,
    );
    this.command = fields.command;
    this.qemuVersion = fields.qemuVersion;
  }
}

/**
 * Strict mode: `command` exists, but the connected QEMU's schema has no
 * argument `argument` for it (for a flat union, in the variant the arguments
 * select). Nothing was sent.
 */
export class QmpUnknownArgumentError extends QemuKvmError {
  static override readonly errorId: string = "QmpUnknownArgumentError";
  readonly code = "ERR_QMP_UNKNOWN_ARGUMENT" as const;
  readonly command: string;
  readonly argument: string;
  /** The arguments QEMU accepts for this call, sorted. */
  readonly accepted: readonly string[];
  /** The connected QEMU's version, e.g. `7.2.22`. */
  readonly qemuVersion: string;

  constructor(fields: {
    command: string;
    argument: string;
    accepted: readonly string[];
    qemuVersion: string;
  }) {
    super(
      `QMP ${fields.command} of QEMU ${fields.qemuVersion} has no argument ${JSON.stringify(fields.argument)} (it takes ${fields.accepted.length ? fields.accepted.join(", ") : "none"}; strict mode: nothing was sent)`,
    );
    this.command = fields.command;
    this.argument = fields.argument;
    this.accepted = fields.accepted;
    this.qemuVersion = fields.qemuVersion;
  }
}

/** The HMP connection closed before `operation` got its prompt back. */
export class HmpClosedError extends ClosedError {
  static override readonly errorId: string = "HmpClosedError";
  readonly code = "ERR_HMP_CLOSED" as const;

  constructor(fields: { operation?: string; cause?: unknown } = {}) {
    super({ resource: "HMP connection", ...fields });
  }
}

/**
 * The peer did not behave like QEMU's human monitor (no banner, no prompt, a
 * QMP greeting), or sent more than the client keeps (`maxLineBytes`,
 * `maxOutputBytes`). The connection is destroyed.
 */
export class HmpProtocolError extends QemuKvmError {
  static override readonly errorId: string = "HmpProtocolError";
  readonly code = "ERR_HMP_PROTOCOL" as const;
  /** What was received (at most 200 characters). */
  readonly received: string;

  constructor(message: string, fields: { received: string; cause?: unknown }) {
    super(message, { cause: fields.cause });
    this.received = excerpt(fields.received);
  }
}

/** An HMP parser met text it does not understand. */
export class HmpParseError extends QemuKvmError {
  static override readonly errorId: string = "HmpParseError";
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
