/**
 * Every error this package raises extends `ControlError` and carries a literal
 * `code`: match on `error.code`, not on messages.
 *
 * | code | class | when |
 * |---|---|---|
 * | `ERR_TIMEOUT` | {@link ControlTimeoutError} | an operation's `timeoutMs` elapsed |
 * | `ERR_ABORTED` | {@link ControlAbortError} | an operation's `signal` was aborted |
 * | `ERR_COMMAND_FAILED` | {@link CommandFailedError} | a command a helper runs (`ip`, `poweroff`) failed |
 * | `ERR_CONSOLE_CLOSED` | {@link ConsoleClosedError} | the console stream ended, or the console was closed |
 * | `ERR_CONSOLE_LOGIN` | {@link ConsoleLoginError} | the guest refused the login, or asked for what is not configured |
 * | `ERR_CONSOLE_NOT_GUEST` | {@link ConsoleNotGuestError} | the shell failed the guest identity check |
 * | `ERR_CONSOLE_NOT_LOGGED_IN` | {@link ConsoleNotLoggedInError} | `run()` before `login()` |
 * | `ERR_CONSOLE_LOGGED_OUT` | {@link ConsoleLoggedOutError} | the shell exited while a command ran (`exit`) |
 * | `ERR_CONSOLE_DESYNC` | {@link ConsoleDesyncError} | an interrupted command could not be stopped: no prompt came back |
 * | `ERR_CONSOLE_OVERFLOW` | {@link ConsoleOverflowError} | unread console output was dropped before `expect()` could see it |
 * | `ERR_CONSOLE_OUTPUT` | {@link ConsoleOutputError} | a command's output could not be transferred intact |
 * | `ERR_QGA_COMMAND` | {@link GuestAgentCommandError} | the guest agent answered with an error (class + description) |
 * | `ERR_QGA_CLOSED` | {@link GuestAgentClosedError} | the agent channel closed before the answer came |
 * | `ERR_QGA_PROTOCOL` | {@link GuestAgentProtocolError} | the agent's replies could not be brought back in step |
 *
 * Console errors carry `transcript`: the last few KiB of what was read and
 * written (the password masked), to see what the guest printed.
 */
export abstract class ControlError extends Error {
  abstract readonly code: string;
  /** The end of the console transcript when the error happened (console errors only). */
  transcript: string | undefined;
}

/** `operation` did not finish within `timeoutMs`. */
export class ControlTimeoutError extends ControlError {
  override readonly name = "ControlTimeoutError";
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
export class ControlAbortError extends ControlError {
  override readonly name = "ControlAbortError";
  readonly code = "ERR_ABORTED" as const;
  readonly operation: string;

  constructor(fields: { operation: string; cause: unknown }) {
    super(`${fields.operation} was aborted`, { cause: fields.cause });
    this.operation = fields.operation;
  }
}

/** A command run by a helper (`networkInterfaces`, `powerdown`…) exited with a failure. */
export class CommandFailedError extends ControlError {
  override readonly name = "CommandFailedError";
  readonly code = "ERR_COMMAND_FAILED" as const;
  readonly command: string;
  readonly exitCode: number | null;
  /** The command's output (at most its last 2,000 characters). */
  readonly output: string;

  constructor(fields: { command: string; exitCode: number | null; output: string }) {
    const tailText = tail(fields.output.trim(), 2_000);
    super(
      `${JSON.stringify(fields.command)} failed with exit code ${fields.exitCode}${tailText ? `: ${tail(tailText, 300)}` : ""}`,
    );
    this.command = fields.command;
    this.exitCode = fields.exitCode;
    this.output = tailText;
  }
}

/** The console stream ended (QEMU exited, the socket closed) or the console was closed. */
export class ConsoleClosedError extends ControlError {
  override readonly name = "ConsoleClosedError";
  readonly code = "ERR_CONSOLE_CLOSED" as const;
  readonly operation: string | undefined;

  constructor(fields: { operation?: string; cause?: unknown } = {}) {
    const because = fields.cause instanceof Error ? `: ${fields.cause.message}` : "";
    super(
      `console closed${fields.operation ? ` before ${fields.operation} completed` : ""}${because}`,
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.operation = fields.operation;
  }
}

/** The login did not succeed: wrong credentials, or a prompt the options do not answer. */
export class ConsoleLoginError extends ControlError {
  override readonly name = "ConsoleLoginError";
  readonly code = "ERR_CONSOLE_LOGIN" as const;
  readonly user: string;

  constructor(message: string, fields: { user: string }) {
    super(message);
    this.user = fields.user;
  }
}

/**
 * The shell answered, but failed the guest identity check: it may be another
 * machine's shell (a host shell behind a relay), or a guest other than expected.
 */
export class ConsoleNotGuestError extends ControlError {
  override readonly name = "ConsoleNotGuestError";
  readonly code = "ERR_CONSOLE_NOT_GUEST" as const;
  /** What was checked, e.g. `DMI system vendor is "QEMU"`. */
  readonly check: string;
  /** The check command's exit code and output (at most 300 characters). */
  readonly exitCode: number;
  readonly output: string;

  constructor(fields: { check: string; exitCode: number; output: string }) {
    const output = tail(fields.output.trim(), 300);
    super(
      `the console's shell failed the guest identity check (${fields.check}): exit code ${fields.exitCode}, output ${JSON.stringify(output)}`,
    );
    this.check = fields.check;
    this.exitCode = fields.exitCode;
    this.output = output;
  }
}

/** `run()` (or a helper built on it) was called before `login()` succeeded. */
export class ConsoleNotLoggedInError extends ControlError {
  override readonly name = "ConsoleNotLoggedInError";
  readonly code = "ERR_CONSOLE_NOT_LOGGED_IN" as const;

  constructor(operation: string) {
    super(`${operation} needs a logged-in console: call login() first`);
  }
}

/** The shell went away while a command ran (the command ran `exit`, or killed the shell). */
export class ConsoleLoggedOutError extends ControlError {
  override readonly name = "ConsoleLoggedOutError";
  readonly code = "ERR_CONSOLE_LOGGED_OUT" as const;
  readonly command: string;

  constructor(fields: { command: string }) {
    super(
      `the shell exited while running ${JSON.stringify(fields.command)}: a login prompt came back; call login() again`,
    );
    this.command = fields.command;
  }
}

/**
 * After a timed-out or aborted command, the console sent Ctrl-C (then Ctrl-\)
 * and no fresh marker came back: something still holds the terminal.
 * Every later operation first tries to resynchronize again.
 */
export class ConsoleDesyncError extends ControlError {
  override readonly name = "ConsoleDesyncError";
  readonly code = "ERR_CONSOLE_DESYNC" as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Console output arrived while nobody read it and exceeded `bufferSize`: the
 * oldest characters were dropped. Reported once, to the next `expect()`, so that
 * it cannot silently match later text than the first occurrence.
 */
export class ConsoleOverflowError extends ControlError {
  override readonly name = "ConsoleOverflowError";
  readonly code = "ERR_CONSOLE_OVERFLOW" as const;
  readonly droppedChars: number;
  readonly bufferSize: number;

  constructor(fields: { droppedChars: number; bufferSize: number }) {
    super(
      `console output overflowed: ${fields.droppedChars} unread characters dropped (buffer of ${fields.bufferSize})`,
    );
    this.droppedChars = fields.droppedChars;
    this.bufferSize = fields.bufferSize;
  }
}

/**
 * The command ran (its exit code is known) but its output could not be
 * delivered intact: the transfer failed verification on every attempt
 * (`reason: "corrupt"`), or the output file was gone (`reason: "lost"`: the
 * command removed it, or the scratch directory is not writable).
 */
export class ConsoleOutputError extends ControlError {
  override readonly name = "ConsoleOutputError";
  readonly code = "ERR_CONSOLE_OUTPUT" as const;
  readonly reason: "corrupt" | "lost";
  readonly command: string;
  readonly exitCode: number;

  constructor(
    message: string,
    fields: { reason: "corrupt" | "lost"; command: string; exitCode: number },
  ) {
    super(message);
    this.reason = fields.reason;
    this.command = fields.command;
    this.exitCode = fields.exitCode;
  }
}

/** The guest agent answered `command` with `{"error": {"class", "desc"}}`. */
export class GuestAgentCommandError extends ControlError {
  override readonly name = "GuestAgentCommandError";
  readonly code = "ERR_QGA_COMMAND" as const;
  readonly command: string;
  /** `GenericError`, `CommandNotFound`, `CommandDisabled`… */
  readonly errorClass: string;
  /** The agent's description (for people, not for parsing). */
  readonly description: string;

  constructor(fields: { command: string; errorClass: string; description: string }) {
    super(`guest agent ${fields.command} failed: ${fields.errorClass}: ${fields.description}`);
    this.command = fields.command;
    this.errorClass = fields.errorClass;
    this.description = fields.description;
  }
}

/** The guest agent channel closed (QEMU exited, the client was closed) before `operation` completed. */
export class GuestAgentClosedError extends ControlError {
  override readonly name = "GuestAgentClosedError";
  readonly code = "ERR_QGA_CLOSED" as const;
  readonly operation: string | undefined;

  constructor(fields: { operation?: string; cause?: unknown } = {}) {
    const because = fields.cause instanceof Error ? `: ${fields.cause.message}` : "";
    super(
      `guest agent channel closed${fields.operation ? ` before ${fields.operation} completed` : ""}${because}`,
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.operation = fields.operation;
  }
}

/** The agent's replies could not be matched to the requests, even after a resynchronization. */
export class GuestAgentProtocolError extends ControlError {
  override readonly name = "GuestAgentProtocolError";
  readonly code = "ERR_QGA_PROTOCOL" as const;
  /** What was received last (at most 200 characters). */
  readonly received: string;

  constructor(message: string, fields: { received?: string } = {}) {
    super(message);
    this.received = excerpt(fields.received ?? "");
  }
}

function excerpt(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function tail(text: string, max: number): string {
  return text.length > max ? `…${text.slice(text.length - max)}` : text;
}
