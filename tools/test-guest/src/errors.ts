/**
 * Errors of the test guest. Match on `code`, never on the message.
 *
 * - `ERR_GUEST_COMMAND`: a build tool (apt-get, dpkg, xz, busybox) failed.
 * - `ERR_GUEST_BUILD`: the build found something it cannot use (a missing
 *   library or module, a kernel without its xz payload…).
 * - `ERR_GUEST_BOOT`: QEMU exited, or its sockets never appeared, while booting.
 * - `ERR_INVALID_OPTION`: a caller passed an option that cannot work (thrown synchronously).
 * - `ERR_TIMEOUT`: a wait ran past its deadline.
 * - `ERR_ABORTED`: the caller's signal aborted the operation.
 */

export class GuestCommandError extends Error {
  readonly code = "ERR_GUEST_COMMAND";
  override name = "GuestCommandError";
  constructor(
    message: string,
    readonly file: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    /** The last few KiB of the command's stderr. */
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class GuestBuildError extends Error {
  readonly code = "ERR_GUEST_BUILD";
  override name = "GuestBuildError";
}

export class GuestBootError extends Error {
  readonly code = "ERR_GUEST_BOOT";
  override name = "GuestBootError";
  constructor(
    message: string,
    /** The last few KiB of QEMU's stderr, when known. */
    readonly stderr = "",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class InvalidGuestOptionError extends Error {
  readonly code = "ERR_INVALID_OPTION";
  override name = "InvalidGuestOptionError";
  constructor(
    message: string,
    /** The option at fault, e.g. `serial.path`. */
    readonly option: string,
  ) {
    super(message);
  }
}

export class GuestTimeoutError extends Error {
  readonly code = "ERR_TIMEOUT";
  override name = "GuestTimeoutError";
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

export class GuestAbortError extends Error {
  readonly code = "ERR_ABORTED";
  override name = "GuestAbortError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Keeps the end of a text: error messages carry the tail of stderr, not megabytes. */
export function tail(text: string, maxChars = 4096): string {
  return text.length <= maxChars ? text : `…${text.slice(-maxChars)}`;
}
