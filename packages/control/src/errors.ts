import { QemuKvmError, tail } from "@qemu-kvm/core";

/**
 * Every code an error of this package can have: the shared ones
 * (`ERR_TIMEOUT`, `ERR_ABORTED`, `ERR_INVALID_ARGUMENT`) and its own areas,
 * `ERR_CONSOLE_*`, `ERR_QGA_*` and `ERR_CONTROL_*`. The README says when each
 * is raised.
 */
export type ControlErrorCode =
  | "ERR_TIMEOUT"
  | "ERR_ABORTED"
  | "ERR_INVALID_ARGUMENT"
  | "ERR_CONTROL_COMMAND"
  | "ERR_CONSOLE_CLOSED"
  | "ERR_CONSOLE_LOGIN"
  | "ERR_CONSOLE_NOT_GUEST"
  | "ERR_CONSOLE_NOT_LOGGED_IN"
  | "ERR_CONSOLE_LOGGED_OUT"
  | "ERR_CONSOLE_DESYNC"
  | "ERR_CONSOLE_OVERFLOW"
  | "ERR_CONSOLE_OUTPUT"
  | "ERR_CONSOLE_SCRATCH"
  | "ERR_QGA_COMMAND"
  | "ERR_QGA_CLOSED"
  | "ERR_QGA_PROTOCOL";

/**
 * A command that a helper of a channel runs (`ip` for `networkInterfaces`,
 * `poweroff` for `powerdown`) exited with a failure.
 */
export class ControlCommandError extends QemuKvmError {
  static override readonly errorId: string = "ControlCommandError";
  readonly code = "ERR_CONTROL_COMMAND" as const;
  readonly command: string;
  readonly exitCode: number | null;
  /** The command's output (at most its last 2,000 characters). */
  readonly output: string;
  /** The end of the console transcript, when a serial console ran the command. */
  transcript: string | undefined = undefined;

  constructor(fields: { command: string; exitCode: number | null; output: string }) {
    const output = tail(fields.output.trim(), { maxChars: 2_000 });
    super(
      `${JSON.stringify(fields.command)} failed with exit code ${fields.exitCode}${output ? `: ${tail(output, { maxChars: 300 })}` : ""}`,
    );
    this.command = fields.command;
    this.exitCode = fields.exitCode;
    this.output = output;
  }
}
