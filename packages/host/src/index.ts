export {
  type CommandFacts,
  describeArgv,
  HostAbortError,
  HostArgumentError,
  HostAuthError,
  HostClosedError,
  HostConnectError,
  HostConnectionLostError,
  HostError,
  type HostErrorCode,
  HostExitError,
  HostKeyMismatchError,
  type HostKeyProblem,
  HostMaxBufferError,
  HostQuoteError,
  HostSocketError,
  HostSpawnError,
  HostSystemError,
  HostTimeoutError,
  type SpawnFailure,
} from "./errors.js";
export type {
  EnvChanges,
  ExecOptions,
  ExecResult,
  Host,
  HostProcess,
  OperationOptions,
  PrivateDirOptions,
  ProcessExit,
  ProcessInfo,
  ProcessOptions,
  ReadFileOptions,
  RemoveOptions,
  Signal,
  SpawnOptions,
  WriteFileOptions,
} from "./host.js";
export { localHost } from "./local-host.js";
export { type ProcStat, parseProcStat } from "./proc.js";
export { quoteCommand } from "./quote.js";
export { type SshHost, sshHost } from "./ssh-host.js";
export type { HostKeyPolicy, SshHostOptions } from "./ssh-options.js";
