import { ClosedError, QemuKvmError, TimeoutError, tail } from "@qemu-kvm/core";

/**
 * What errors of console operations carry besides their own facts: the end of
 * the console transcript when the error happened (what was read and written,
 * the password masked), to see what the guest printed. Set by the console
 * when the error leaves one of its operations.
 */
export interface ConsoleTranscriptFact {
  transcript: string | undefined;
}

/**
 * Sets `transcript` on an error that carries one (the console's error classes,
 * `ControlCommandError`) and has none yet. Other errors are left alone.
 */
export function attachTranscript(error: unknown, transcript: () => string): void {
  if (
    typeof error === "object" &&
    error !== null &&
    "transcript" in error &&
    (error as ConsoleTranscriptFact).transcript === undefined
  )
    (error as ConsoleTranscriptFact).transcript = transcript();
}

/**
 * A console operation did not finish within its `timeoutMs`: core's
 * `TimeoutError` (code `ERR_TIMEOUT`, `TimeoutError.isInstance` is true) with
 * the console's transcript.
 */
export class ConsoleTimeoutError extends TimeoutError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleTimeoutError";
  override readonly code = "ERR_TIMEOUT" as const;
  transcript: string | undefined = undefined;
}

/** The console stream ended (QEMU exited, the socket closed) or the console was closed. */
export class ConsoleClosedError extends ClosedError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleClosedError";
  readonly code = "ERR_CONSOLE_CLOSED" as const;
  transcript: string | undefined = undefined;

  constructor(fields: { operation?: string; cause?: unknown } = {}) {
    super({ resource: "console", ...fields });
  }
}

/** The login did not succeed: wrong credentials, or a prompt the options do not answer. */
export class ConsoleLoginError extends QemuKvmError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleLoginError";
  readonly code = "ERR_CONSOLE_LOGIN" as const;
  readonly user: string;
  transcript: string | undefined = undefined;

  constructor(message: string, fields: { user: string }) {
    super(message);
    this.user = fields.user;
  }
}

/**
 * The shell answered, but failed the guest identity check: it may be another
 * machine's shell (a host shell behind a relay), or a guest other than expected.
 */
export class ConsoleNotGuestError extends QemuKvmError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleNotGuestError";
  readonly code = "ERR_CONSOLE_NOT_GUEST" as const;
  /** What was checked, e.g. `DMI system vendor is "QEMU"`. */
  readonly check: string;
  /** The check command's exit code and output (at most 300 characters). */
  readonly exitCode: number;
  readonly output: string;
  transcript: string | undefined = undefined;

  constructor(fields: { check: string; exitCode: number; output: string }) {
    const output = tail(fields.output.trim(), { maxChars: 300 });
    super(
      `the console's shell failed the guest identity check (${fields.check}): exit code ${fields.exitCode}, output ${JSON.stringify(output)}`,
    );
    this.check = fields.check;
    this.exitCode = fields.exitCode;
    this.output = output;
  }
}

/** `run()` (or a helper built on it) was called before `login()` succeeded. */
export class ConsoleNotLoggedInError extends QemuKvmError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleNotLoggedInError";
  readonly code = "ERR_CONSOLE_NOT_LOGGED_IN" as const;
  transcript: string | undefined = undefined;

  constructor(operation: string) {
    super(`${operation} needs a logged-in console: call login() first`);
  }
}

/** The shell went away while a command ran (the command ran `exit`, or killed the shell). */
export class ConsoleLoggedOutError extends QemuKvmError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleLoggedOutError";
  readonly code = "ERR_CONSOLE_LOGGED_OUT" as const;
  readonly command: string;
  transcript: string | undefined = undefined;

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
export class ConsoleDesyncError extends QemuKvmError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleDesyncError";
  readonly code = "ERR_CONSOLE_DESYNC" as const;
  transcript: string | undefined = undefined;
}

/**
 * Console output arrived while nobody read it and exceeded `bufferSize`: the
 * oldest characters were dropped. Reported once, to the next `expect()`, so that
 * it cannot silently match later text than the first occurrence.
 */
export class ConsoleOverflowError extends QemuKvmError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleOverflowError";
  readonly code = "ERR_CONSOLE_OVERFLOW" as const;
  readonly droppedChars: number;
  readonly bufferSize: number;
  transcript: string | undefined = undefined;

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
export class ConsoleOutputError extends QemuKvmError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleOutputError";
  readonly code = "ERR_CONSOLE_OUTPUT" as const;
  readonly reason: "corrupt" | "lost";
  readonly command: string;
  /** The command's exit status; -1 when even the status did not come through. */
  readonly exitCode: number;
  transcript: string | undefined = undefined;

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

/**
 * The first `run()` of a login (or a `login()` whose identity check is a
 * command without a `file`: it runs as the first command) could not make the
 * login session's private directory in `scratchDirectory` (`directory`): it
 * is not writable, not a directory, or full. Nothing ran. From `run()`, the
 * console stays logged in and the next `run()` tries again; from `login()`,
 * it is not logged in.
 */
export class ConsoleScratchError extends QemuKvmError implements ConsoleTranscriptFact {
  static override readonly errorId: string = "ConsoleScratchError";
  readonly code = "ERR_CONSOLE_SCRATCH" as const;
  /** The scratch directory in which it could not be made. */
  readonly directory: string;
  transcript: string | undefined = undefined;

  constructor(fields: { directory: string }) {
    super(
      `could not make a private directory for command output in ${fields.directory} (not writable, not a directory, or full): see scratchDirectory`,
    );
    this.directory = fields.directory;
  }
}
