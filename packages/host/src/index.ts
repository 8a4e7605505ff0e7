// Public API: named re-exports only.
export {
  AbortError,
  type CallOptions,
  ClosedError,
  InvalidArgumentError,
  type OperationMessage,
  QemuKvmError,
  TimeoutError,
} from "@qemu-kvm/core";
export {
  type CommandFacts,
  HostAbortError,
  HostExitError,
  HostMaxBufferError,
  HostSpawnError,
  HostTimeoutError,
  type SpawnFailure,
} from "./errors/command-errors.js";
export { describeArgv } from "./errors/describe.js";
export {
  HostAuthError,
  HostClosedError,
  HostConnectError,
  HostConnectionLostError,
  type HostErrorCode,
  HostFileTooLargeError,
  HostKeyMismatchError,
  type HostKeyProblem,
  HostSocketError,
  HostSystemError,
  HostTooManyEntriesError,
} from "./errors/host-errors.js";
export type {
  DirEntry,
  EnvChanges,
  ExecOptions,
  ExecResult,
  FileStat,
  FileType,
  Host,
  HostProcess,
  MakeDirOptions,
  PrivateDirOptions,
  ProcessExit,
  ProcessInfo,
  ProcessOptions,
  ProcessState,
  PutFileOptions,
  PutFileResult,
  ReadDirOptions,
  ReadFileOptions,
  RemoveOptions,
  Signal,
  SpawnOptions,
  WriteFileOptions,
} from "./host.js";
export { createLocalHost, type LocalHostOptions } from "./local/local-host.js";
export {
  DEFAULT_TIMEOUTS,
  type DefaultTimeouts,
  type TimedOperation,
} from "./shared/default-timeouts.js";
export { type ProcStat, parseProcStat } from "./shared/proc.js";
export { quoteCommand } from "./shared/quote.js";
export { fingerprintOf } from "./ssh/fingerprint.js";
export { connectSshHost, type SshHost } from "./ssh/ssh-host.js";
export type { HostKeyPolicy, SshHostOptions } from "./ssh/ssh-options.js";
export type { SshStreamOpener } from "./ssh/stream-socket.js";
