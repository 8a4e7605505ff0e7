/** The command's own errors: a command line it cannot run, and the demo's. */
import { InvalidArgumentError, QemuKvmError } from "@qemu-kvm/core";

/**
 * The command line (or a file it names) is wrong: nothing was started. Its
 * code is the shared `ERR_INVALID_ARGUMENT`, `field` the option or operand
 * (`--timeout`, `FILE`), `verb` the verb whose usage applies.
 */
export class CommandLineError extends InvalidArgumentError {
  static override readonly errorId: string = "CommandLineError";
  override name = "CommandLineError";
  readonly verb: string | undefined;

  constructor(fields: {
    field: string;
    message: string;
    verb?: string | undefined;
    expected?: string;
    value?: unknown;
    cause?: unknown;
  }) {
    super(
      fields.field,
      fields.expected ?? "valid",
      fields.value,
      fields.cause === undefined ? {} : { cause: fields.cause },
    );
    this.message = fields.message;
    this.verb = fields.verb;
  }
}

/**
 * `qemu-kvm demo` could not run (the repository's test guest is not installed
 * with the published package), or found something of its VM left after the
 * stop (a bug, reported with what was left).
 */
export class DemoError extends QemuKvmError {
  static override readonly errorId: string = "DemoError";
  readonly code = "ERR_VM_DEMO" as const;
  readonly hint: string;

  constructor(fields: { message: string; hint: string; cause?: unknown }) {
    super(fields.message, { cause: fields.cause });
    this.hint = fields.hint;
  }
}
