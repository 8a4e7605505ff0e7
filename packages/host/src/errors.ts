/**
 * Every failure of `@qemu-kvm/host` is one of these classes, each with a stable
 * `code` to match on, a `cause` when something underneath failed, and the facts
 * needed to act (argv, exit code, stderr, the path, the host).
 */

/** The `code` of every error this package throws or rejects with. */
export type HostErrorCode =
  | "ERR_HOST_EXIT"
  | "ERR_HOST_SPAWN"
  | "ERR_HOST_MAX_BUFFER"
  | "ERR_HOST_QUOTE"
  | "ERR_HOST_INVALID_ARGUMENT"
  | "ERR_TIMEOUT"
  | "ERR_ABORTED"
  | "ERR_HOST_CONNECT"
  | "ERR_HOST_CONNECTION_LOST"
  | "ERR_HOST_AUTH"
  | "ERR_HOST_KEY_MISMATCH"
  | "ERR_HOST_CLOSED"
  | "ERR_HOST_SYSTEM"
  | "ERR_HOST_SOCKET";

/** The base class: `instanceof HostError` catches every error of this package. */
export abstract class HostError extends Error {
  abstract readonly code: HostErrorCode;
  /** The host the operation ran on: `"local"` or `"user@host:port"`. */
  readonly host: string | undefined;

  constructor(message: string, options: { cause?: unknown; host?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.host = options.host;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

const TAIL_LINES = 20;
const TAIL_CHARS = 2000;

/** The last lines of `text` (at most 20 lines and 2000 characters), for messages. */
export function tail(text: string): string {
  const trimmed = text.replace(/\s+$/, "");
  const lines = trimmed.split("\n");
  let result = lines.slice(-TAIL_LINES).join("\n");
  if (result.length > TAIL_CHARS) result = `…${result.slice(-TAIL_CHARS)}`;
  else if (lines.length > TAIL_LINES) result = `…\n${result}`;
  return result;
}

function outputText(output: string | Buffer): string {
  return typeof output === "string" ? output : output.toString("utf8");
}

/** Facts about a command, shared by the errors of `exec`. */
export interface CommandFacts {
  /** `[file, ...args]` as given. */
  argv: readonly string[];
  stdout: string | Buffer;
  stderr: string | Buffer;
  durationMs: number;
}

/** A command exited with a non-zero code, or was killed by a signal it was not sent by us. */
export class HostExitError extends HostError {
  readonly code = "ERR_HOST_EXIT" as const;
  readonly argv: readonly string[];
  /** `null` when a signal ended the process. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string | Buffer;
  readonly stderr: string | Buffer;
  readonly durationMs: number;

  constructor(
    facts: CommandFacts & { exitCode: number | null; signal: NodeJS.Signals | null },
    options: { host?: string } = {},
  ) {
    const how =
      facts.exitCode === null ? `was killed by ${facts.signal}` : `exited with ${facts.exitCode}`;
    const stderrTail = tail(outputText(facts.stderr));
    super(
      `${describeArgv(facts.argv)} ${how}${hostSuffix(options.host)}${stderrTail ? `:\n${stderrTail}` : ""}`,
      options,
    );
    this.argv = facts.argv;
    this.exitCode = facts.exitCode;
    this.signal = facts.signal;
    this.stdout = facts.stdout;
    this.stderr = facts.stderr;
    this.durationMs = facts.durationMs;
  }

  /** The last lines of stderr, as shown in the message. */
  get stderrTail(): string {
    return tail(outputText(this.stderr));
  }
}

/** Why a command could not be started. */
export type SpawnFailure =
  /** No such file, or not found in PATH. */
  | "not-found"
  /** Found, but not an executable file (or permission denied). */
  | "not-executable"
  /** The working directory does not exist or cannot be entered. */
  | "bad-cwd"
  /** Over SSH: the remote login shell did not run the command (not a POSIX shell, or a nologin account). */
  | "remote-shell"
  /** Anything else the operating system refused (see `cause`). */
  | "system";

/** A command could not be started at all. */
export class HostSpawnError extends HostError {
  readonly code = "ERR_HOST_SPAWN" as const;
  readonly argv: readonly string[];
  readonly reason: SpawnFailure;

  constructor(
    argv: readonly string[],
    reason: SpawnFailure,
    detail: string,
    options: { cause?: unknown; host?: string } = {},
  ) {
    super(`cannot run ${describeArgv(argv)}${hostSuffix(options.host)}: ${detail}`, options);
    this.argv = argv;
    this.reason = reason;
  }
}

/** A command wrote more than `maxBuffer` bytes to stdout or stderr; it was stopped. */
export class HostMaxBufferError extends HostError {
  readonly code = "ERR_HOST_MAX_BUFFER" as const;
  readonly argv: readonly string[];
  readonly maxBuffer: number;
  readonly stream: "stdout" | "stderr";

  constructor(
    argv: readonly string[],
    stream: "stdout" | "stderr",
    maxBuffer: number,
    options: { host?: string } = {},
  ) {
    super(
      `${describeArgv(argv)} wrote more than ${maxBuffer} bytes to ${stream}${hostSuffix(options.host)}; it was stopped`,
      options,
    );
    this.argv = argv;
    this.stream = stream;
    this.maxBuffer = maxBuffer;
  }
}

/**
 * An argument, environment variable or path cannot be passed to a process: it
 * contains a NUL byte (no process can receive one), is not well-formed Unicode,
 * is not a valid environment variable name, or the command line is too long for
 * the one string SSH carries. Thrown synchronously: this is a programmer error.
 */
export class HostQuoteError extends HostError {
  readonly code = "ERR_HOST_QUOTE" as const;
  /** Where the bad value is, e.g. `"args[2]"`, `"env.FOO"`, `"cwd"`. */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`${field} ${problem}`);
    this.field = field;
  }
}

/**
 * An option or argument is invalid (an unknown signal, a pid that is not a
 * positive integer, a negative timeout, SSH options without a host key policy…).
 * Thrown synchronously: this is a programmer error.
 */
export class HostArgumentError extends HostError {
  readonly code = "ERR_HOST_INVALID_ARGUMENT" as const;
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`${field} ${problem}`);
    this.field = field;
  }
}

/** The operation did not finish within `timeoutMs`; what it started was stopped. */
export class HostTimeoutError extends HostError {
  readonly code = "ERR_TIMEOUT" as const;
  readonly timeoutMs: number;
  /** What timed out, e.g. `"exec sleep 10"`, `"connect root@lab1:22"`, `"readFile /etc/x"`. */
  readonly operation: string;
  /** For `exec`: the argv, and what the command wrote before it was stopped. */
  readonly argv: readonly string[] | undefined;
  readonly stdout: string | Buffer | undefined;
  readonly stderr: string | Buffer | undefined;

  constructor(
    operation: string,
    timeoutMs: number,
    options: { cause?: unknown; host?: string; facts?: CommandFacts } = {},
  ) {
    super(`${operation} timed out after ${timeoutMs} ms${hostSuffix(options.host)}`, options);
    this.operation = operation;
    this.timeoutMs = timeoutMs;
    this.argv = options.facts?.argv;
    this.stdout = options.facts?.stdout;
    this.stderr = options.facts?.stderr;
  }
}

/** The operation was aborted through its `AbortSignal` (`cause` is the signal's reason). */
export class HostAbortError extends HostError {
  readonly code = "ERR_ABORTED" as const;
  readonly operation: string;
  readonly argv: readonly string[] | undefined;
  readonly stdout: string | Buffer | undefined;
  readonly stderr: string | Buffer | undefined;

  constructor(
    operation: string,
    options: { cause?: unknown; host?: string; facts?: CommandFacts } = {},
  ) {
    super(`${operation} was aborted${hostSuffix(options.host)}`, options);
    this.operation = operation;
    this.argv = options.facts?.argv;
    this.stdout = options.facts?.stdout;
    this.stderr = options.facts?.stderr;
  }
}

/** The SSH connection could not be established (DNS, refused, unreachable, handshake). */
export class HostConnectError extends HostError {
  readonly code = "ERR_HOST_CONNECT" as const;
}

/** The SSH connection dropped while the operation was in flight. The next call reconnects. */
export class HostConnectionLostError extends HostError {
  readonly code = "ERR_HOST_CONNECTION_LOST" as const;
}

/** The SSH server refused every authentication method offered. */
export class HostAuthError extends HostError {
  readonly code = "ERR_HOST_AUTH" as const;
  readonly user: string;

  constructor(user: string, message: string, options: { cause?: unknown; host?: string } = {}) {
    super(message, options);
    this.user = user;
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
export class HostKeyMismatchError extends HostError {
  readonly code = "ERR_HOST_KEY_MISMATCH" as const;
  readonly problem: HostKeyProblem;
  /** The key the server presented, `SHA256:…` (pin it if you trust it). */
  readonly fingerprint: string;

  constructor(
    problem: HostKeyProblem,
    fingerprint: string,
    message: string,
    options: { host?: string } = {},
  ) {
    super(message, options);
    this.problem = problem;
    this.fingerprint = fingerprint;
  }
}

/** The host was closed (`close()`) or destroyed (`destroy()`, whose reason is the `cause`). */
export class HostClosedError extends HostError {
  readonly code = "ERR_HOST_CLOSED" as const;
}

/**
 * The operating system refused a file or process operation. `systemCode` is the
 * errno name (`ENOENT`, `EACCES`, `EPERM`, `EISDIR`, `ENOTEMPTY`…). Over SFTP the
 * server reports only "no such file" (`ENOENT`), "permission denied" (`EACCES`)
 * and "failure": the latter is `EIO` unless a check tells more.
 */
export class HostSystemError extends HostError {
  readonly code = "ERR_HOST_SYSTEM" as const;
  readonly systemCode: string;
  /** `readFile`, `writeFile`, `remove`, `makePrivateDir`, `exists`, `kill`… */
  readonly operation: string;
  readonly path: string | undefined;

  constructor(
    operation: string,
    systemCode: string,
    message: string,
    options: { cause?: unknown; host?: string; path?: string } = {},
  ) {
    super(
      `${operation}${options.path === undefined ? "" : ` ${options.path}`}: ${message}${hostSuffix(options.host)}`,
      options,
    );
    this.operation = operation;
    this.systemCode = systemCode;
    this.path = options.path;
  }
}

/** `connectUnix`/`connectTcp` could not reach the socket or port on the host. */
export class HostSocketError extends HostError {
  readonly code = "ERR_HOST_SOCKET" as const;
  /** The unix socket path, or `address:port`. */
  readonly target: string;
  /** The errno name when known (`ENOENT`, `ECONNREFUSED`…). */
  readonly systemCode: string | undefined;

  constructor(
    target: string,
    systemCode: string | undefined,
    message: string,
    options: { cause?: unknown; host?: string } = {},
  ) {
    super(`cannot connect to ${target}${hostSuffix(options.host)}: ${message}`, options);
    this.target = target;
    this.systemCode = systemCode;
  }
}

function hostSuffix(host: string | undefined): string {
  return host === undefined || host === "local" ? "" : ` on ${host}`;
}

/** A short, readable form of argv for messages (not for a shell). */
export function describeArgv(argv: readonly string[]): string {
  const text = argv
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word)))
    .join(" ");
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
