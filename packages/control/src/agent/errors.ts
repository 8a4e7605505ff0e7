import { ClosedError, excerpt, QapiCommandError, QemuKvmError } from "@qemu-kvm/core";

/** The guest agent answered `command` with `{"error": {"class", "desc"}}` (`command`, `errorClass`, `description`). */
export class GuestAgentCommandError extends QapiCommandError {
  static override readonly errorId: string = "GuestAgentCommandError";
  readonly code = "ERR_QGA_COMMAND" as const;

  constructor(fields: { command: string; errorClass: string; description: string }) {
    super("guest agent", fields);
  }
}

/** The guest agent channel closed (QEMU exited, the client was closed) before `operation` completed. */
export class GuestAgentClosedError extends ClosedError {
  static override readonly errorId: string = "GuestAgentClosedError";
  readonly code = "ERR_QGA_CLOSED" as const;

  constructor(fields: { operation?: string; cause?: unknown } = {}) {
    super({ resource: "guest agent channel", ...fields });
  }
}

/**
 * The agent's replies could not be matched to the requests, even after a
 * resynchronization, or a reply was longer than `maxReplyBytes` (`cause`: a
 * `LineTooLongError`).
 */
export class GuestAgentProtocolError extends QemuKvmError {
  static override readonly errorId: string = "GuestAgentProtocolError";
  readonly code = "ERR_QGA_PROTOCOL" as const;
  /** What was received last (at most 200 characters). */
  readonly received: string;

  constructor(message: string, fields: { received?: string; cause?: unknown } = {}) {
    super(message, { cause: fields.cause });
    this.received = excerpt(fields.received ?? "");
  }
}
