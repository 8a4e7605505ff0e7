import { QemuKvmError } from "./errors/error.js";

/**
 * QEMU's two JSON protocols, QMP (`@qemu-kvm/monitor`) and the guest agent
 * (`@qemu-kvm/control`), are both QAPI: one request per line,
 * `{"execute", "arguments"?, "id"}`, answered by `{"return"}` or
 * `{"error": {"class", "desc"}}` with the same id.
 */

/** The request line for `command`, with its newline. */
export function encodeQapiRequest(
  command: string,
  args: Record<string, unknown> | undefined,
  id: number,
): string {
  return args === undefined
    ? `{"execute":${JSON.stringify(command)},"id":${id}}\n`
    : `${JSON.stringify({ execute: command, arguments: args, id })}\n`;
}

/**
 * QEMU (or its guest agent) answered `command` with an error. Each protocol
 * subclasses it with its code (`ERR_QMP_COMMAND`, `ERR_QGA_COMMAND`);
 * `QapiCommandError.isInstance` catches both.
 */
export abstract class QapiCommandError extends QemuKvmError {
  static override readonly errorId: string = "QapiCommandError";
  /** The command that failed, e.g. `device_del`, `guest-exec`. */
  readonly command: string;
  /** The error class: `GenericError`, `CommandNotFound`, `DeviceNotFound`… */
  readonly errorClass: string;
  /** The description, for people (not meant to be parsed). */
  readonly description: string;

  /** `peer` names who answered in the message: `QMP`, `guest agent`. */
  constructor(peer: string, fields: { command: string; errorClass: string; description: string }) {
    super(`${peer} ${fields.command} failed: ${fields.errorClass}: ${fields.description}`);
    this.command = fields.command;
    this.errorClass = fields.errorClass;
    this.description = fields.description;
  }
}
