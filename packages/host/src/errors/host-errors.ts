/** The errors of a host itself: its connection, its lifecycle, and what its system refused. */
import { ClosedError, QemuKvmError, type SharedErrorCode } from "@qemu-kvm/core";
import { onHost } from "./describe.js";

/** The `code` of every error this package throws or rejects with. */
export type HostErrorCode =
  | SharedErrorCode
  | "ERR_HOST_EXIT"
  | "ERR_HOST_SPAWN"
  | "ERR_HOST_MAX_BUFFER"
  | "ERR_HOST_CONNECT"
  | "ERR_HOST_CONNECTION_LOST"
  | "ERR_HOST_AUTH"
  | "ERR_HOST_KEY_MISMATCH"
  | "ERR_HOST_CLOSED"
  | "ERR_HOST_SYSTEM"
  | "ERR_HOST_TOO_MANY_ENTRIES"
  | "ERR_HOST_FILE_TOO_LARGE"
  | "ERR_HOST_SOCKET";

/** The SSH connection could not be established (DNS, refused, unreachable, handshake). */
export class HostConnectError extends QemuKvmError {
  static override readonly errorId: string = "HostConnectError";
  readonly code = "ERR_HOST_CONNECT" as const;
  /** `"user@host:port"`. */
  readonly host: string;

  constructor(fields: { message: string; host: string; cause?: unknown }) {
    super(fields.message, { cause: fields.cause });
    this.host = fields.host;
  }
}

/** The SSH connection dropped while the operation was in flight. The next call reconnects. */
export class HostConnectionLostError extends QemuKvmError {
  static override readonly errorId: string = "HostConnectionLostError";
  readonly code = "ERR_HOST_CONNECTION_LOST" as const;
  readonly host: string;

  constructor(fields: { message: string; host: string; cause?: unknown }) {
    super(fields.message, { cause: fields.cause });
    this.host = fields.host;
  }
}

/** The SSH server refused every authentication method offered, or the key is unusable. */
export class HostAuthError extends QemuKvmError {
  static override readonly errorId: string = "HostAuthError";
  readonly code = "ERR_HOST_AUTH" as const;
  readonly host: string;
  readonly user: string;

  constructor(fields: { user: string; message: string; host: string; cause?: unknown }) {
    super(fields.message, { cause: fields.cause });
    this.host = fields.host;
    this.user = fields.user;
  }
}

/** Why the server's host key was refused. */
export type HostKeyProblem =
  /** The known hosts hold other keys for this host: possibly a machine-in-the-middle. */
  | "mismatch"
  /** The known hosts hold no key for this host. */
  | "unknown"
  /** The key is marked `@revoked` in the known hosts. */
  | "revoked";

/** The server's host key failed verification; nothing was sent to it. */
export class HostKeyMismatchError extends QemuKvmError {
  static override readonly errorId: string = "HostKeyMismatchError";
  readonly code = "ERR_HOST_KEY_MISMATCH" as const;
  readonly host: string;
  readonly problem: HostKeyProblem;
  /** The key the server presented, `SHA256:…` (pin it if you trust it). */
  readonly fingerprint: string;

  constructor(fields: {
    problem: HostKeyProblem;
    fingerprint: string;
    message: string;
    host: string;
  }) {
    super(fields.message);
    this.host = fields.host;
    this.problem = fields.problem;
    this.fingerprint = fields.fingerprint;
  }
}

/**
 * The host was closed (`close()`) or destroyed (`destroy(reason)`: `cause` is
 * the reason). Core's `ClosedError`: `ClosedError.isInstance` catches it.
 */
export class HostClosedError extends ClosedError {
  static override readonly errorId: string = "HostClosedError";
  readonly code = "ERR_HOST_CLOSED" as const;
  readonly host: string;

  constructor(fields: { host: string; operation?: string; cause?: unknown }) {
    super({ resource: `host ${fields.host}`, operation: fields.operation, cause: fields.cause });
    this.host = fields.host;
  }
}

/**
 * The operating system refused a file or process operation. `systemCode` is the
 * errno name (`ENOENT`, `EACCES`, `EPERM`, `EISDIR`, `ENOTEMPTY`…). Over SFTP the
 * server reports only "no such file" (`ENOENT`), "permission denied" (`EACCES`)
 * and "failure": the latter is `EIO` unless a check tells more.
 */
export class HostSystemError extends QemuKvmError {
  static override readonly errorId: string = "HostSystemError";
  readonly code = "ERR_HOST_SYSTEM" as const;
  readonly host: string;
  readonly systemCode: string;
  /** `readFile`, `writeFile`, `remove`, `makePrivateDir`, `exists`, `kill`… */
  readonly operation: string;
  readonly path: string | undefined;

  constructor(fields: {
    operation: string;
    systemCode: string;
    message: string;
    host: string;
    path?: string;
    cause?: unknown;
  }) {
    const path = fields.path === undefined ? "" : ` ${fields.path}`;
    super(`${fields.operation}${path}: ${fields.message}${onHost(fields.host)}`, {
      cause: fields.cause,
    });
    this.host = fields.host;
    this.operation = fields.operation;
    this.systemCode = fields.systemCode;
    this.path = fields.path;
  }
}

/** `readDir` found more entries than its `maxEntries`: nothing is returned, so memory stays bounded. */
export class HostTooManyEntriesError extends QemuKvmError {
  static override readonly errorId: string = "HostTooManyEntriesError";
  readonly code = "ERR_HOST_TOO_MANY_ENTRIES" as const;
  readonly host: string;
  /** The directory. */
  readonly path: string;
  readonly maxEntries: number;

  constructor(fields: { path: string; maxEntries: number; host: string }) {
    super(
      `readDir ${fields.path}: more than ${fields.maxEntries} entries (maxEntries)${onHost(fields.host)}`,
    );
    this.host = fields.host;
    this.path = fields.path;
    this.maxEntries = fields.maxEntries;
  }
}

/**
 * `readFile` found a file larger than its `maxBytes` (by the size the file or
 * the SFTP server claims, or by reading past it): nothing is returned, and at
 * most `maxBytes` (plus one read) were ever held in memory.
 */
export class HostFileTooLargeError extends QemuKvmError {
  static override readonly errorId: string = "HostFileTooLargeError";
  readonly code = "ERR_HOST_FILE_TOO_LARGE" as const;
  readonly host: string;
  readonly path: string;
  readonly maxBytes: number;

  constructor(fields: { path: string; maxBytes: number; host: string }) {
    super(
      `readFile ${fields.path}: larger than ${fields.maxBytes} bytes (maxBytes)${onHost(fields.host)}`,
    );
    this.host = fields.host;
    this.path = fields.path;
    this.maxBytes = fields.maxBytes;
  }
}

/** `connectUnix`/`connectTcp` could not reach the socket or port on the host. */
export class HostSocketError extends QemuKvmError {
  static override readonly errorId: string = "HostSocketError";
  readonly code = "ERR_HOST_SOCKET" as const;
  readonly host: string;
  /** The unix socket path, or `address:port`. */
  readonly target: string;
  /** The errno name when known (`ENOENT`, `ECONNREFUSED`…). */
  readonly systemCode: string | undefined;

  constructor(fields: {
    target: string;
    systemCode: string | undefined;
    message: string;
    host: string;
    cause?: unknown;
  }) {
    super(`cannot connect to ${fields.target}${onHost(fields.host)}: ${fields.message}`, {
      cause: fields.cause,
    });
    this.host = fields.host;
    this.target = fields.target;
    this.systemCode = fields.systemCode;
  }
}
