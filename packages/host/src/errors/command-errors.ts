/** The errors of running a command: it failed, could not start, wrote too much, or was stopped. */
import { AbortError, QemuKvmError, TimeoutError } from "@qemu-kvm/core";
import { describeArgv, onHost, outputTail } from "./describe.js";

/** Facts about a command, shared by the errors of `exec`. */
export interface CommandFacts {
  /** `[file, ...args]` as given. */
  argv: readonly string[];
  stdout: string | Buffer;
  stderr: string | Buffer;
  durationMs: number;
}

/** A command exited with a non-zero code, or was killed by a signal it was not sent by us. */
export class HostExitError extends QemuKvmError {
  static override readonly errorId: string = "HostExitError";
  readonly code = "ERR_HOST_EXIT" as const;
  /** The host the command ran on: `"local"` or `"user@host:port"`. */
  readonly host: string;
  readonly argv: readonly string[];
  /** `null` when a signal ended the process. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string | Buffer;
  readonly stderr: string | Buffer;
  readonly durationMs: number;

  constructor(
    facts: CommandFacts & { exitCode: number | null; signal: NodeJS.Signals | null; host: string },
  ) {
    const how =
      facts.exitCode === null ? `was killed by ${facts.signal}` : `exited with ${facts.exitCode}`;
    const stderrTail = outputTail(facts.stderr);
    super(
      `${describeArgv(facts.argv)} ${how}${onHost(facts.host)}${stderrTail ? `:\n${stderrTail}` : ""}`,
    );
    this.host = facts.host;
    this.argv = facts.argv;
    this.exitCode = facts.exitCode;
    this.signal = facts.signal;
    this.stdout = facts.stdout;
    this.stderr = facts.stderr;
    this.durationMs = facts.durationMs;
  }

  /** The last lines of stderr (at most 20 lines and 2000 characters), as shown in the message. */
  get stderrTail(): string {
    return outputTail(this.stderr);
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
  /** Anything else the operating system (or the SSH server) refused (see `cause`). */
  | "system";

/** A command could not be started at all. */
export class HostSpawnError extends QemuKvmError {
  static override readonly errorId: string = "HostSpawnError";
  readonly code = "ERR_HOST_SPAWN" as const;
  readonly host: string;
  readonly argv: readonly string[];
  readonly reason: SpawnFailure;

  constructor(fields: {
    argv: readonly string[];
    reason: SpawnFailure;
    /** What went wrong, for the message. */
    detail: string;
    host: string;
    cause?: unknown;
  }) {
    super(`cannot run ${describeArgv(fields.argv)}${onHost(fields.host)}: ${fields.detail}`, {
      cause: fields.cause,
    });
    this.host = fields.host;
    this.argv = fields.argv;
    this.reason = fields.reason;
  }
}

/** A command wrote more than `maxBuffer` bytes to stdout or stderr; it was stopped. */
export class HostMaxBufferError extends QemuKvmError {
  static override readonly errorId: string = "HostMaxBufferError";
  readonly code = "ERR_HOST_MAX_BUFFER" as const;
  readonly host: string;
  readonly argv: readonly string[];
  readonly maxBuffer: number;
  readonly stream: "stdout" | "stderr";

  constructor(fields: {
    argv: readonly string[];
    stream: "stdout" | "stderr";
    maxBuffer: number;
    host: string;
  }) {
    super(
      `${describeArgv(fields.argv)} wrote more than ${fields.maxBuffer} bytes to ${fields.stream}${onHost(fields.host)}; it was stopped`,
    );
    this.host = fields.host;
    this.argv = fields.argv;
    this.stream = fields.stream;
    this.maxBuffer = fields.maxBuffer;
  }
}

/**
 * An operation of a host did not finish within its `timeoutMs`; what it
 * started was stopped. Core's `TimeoutError` (`ERR_TIMEOUT`), with the host and,
 * for `exec`, the command and what it wrote before it was stopped.
 */
export class HostTimeoutError extends TimeoutError {
  static override readonly errorId: string = "HostTimeoutError";
  readonly host: string;
  /** For `exec`: the argv, and what the command wrote before it was stopped. */
  readonly argv: readonly string[] | undefined;
  readonly stdout: string | Buffer | undefined;
  readonly stderr: string | Buffer | undefined;

  constructor(fields: {
    /** What timed out, e.g. `"exec sleep 10"`, `"connect root@lab1:22"`, `"readFile /etc/x"`. */
    operation: string;
    timeoutMs: number;
    host: string;
    facts?: CommandFacts;
    /** Added to the message: why this deadline (the host's default for the operation). */
    hint?: string;
    cause?: unknown;
  }) {
    super(fields);
    this.message += onHost(fields.host);
    this.host = fields.host;
    this.argv = fields.facts?.argv;
    this.stdout = fields.facts?.stdout;
    this.stderr = fields.facts?.stderr;
  }
}

/**
 * An operation of a host was aborted through its `signal` (`cause` is the
 * signal's reason); what it started was stopped. Core's `AbortError`
 * (`ERR_ABORTED`), with the host and, for `exec`, the command's output so far.
 */
export class HostAbortError extends AbortError {
  static override readonly errorId: string = "HostAbortError";
  readonly host: string;
  readonly argv: readonly string[] | undefined;
  readonly stdout: string | Buffer | undefined;
  readonly stderr: string | Buffer | undefined;

  constructor(fields: { operation: string; cause: unknown; host: string; facts?: CommandFacts }) {
    super(fields);
    this.message += onHost(fields.host);
    this.host = fields.host;
    this.argv = fields.facts?.argv;
    this.stdout = fields.facts?.stdout;
    this.stderr = fields.facts?.stderr;
  }
}
