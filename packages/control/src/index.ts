// Public API: named re-exports only.
export {
  AbortError,
  type CallOptions,
  ClosedError,
  type CloseInfo,
  InvalidArgumentError,
  QemuKvmError,
  TimeoutError,
} from "@qemu-kvm/core";
export { connectGuestAgent, type GuestAgentClient, type ShutdownMode } from "./agent/client.js";
export {
  GuestAgentClosedError,
  GuestAgentCommandError,
  GuestAgentProtocolError,
} from "./agent/errors.js";
export type { GuestExecOptions, GuestExecResult } from "./agent/exec.js";
export type { GuestWriteFileOptions } from "./agent/files.js";
export type { GuestAgentInfo, GuestOsInfo } from "./agent/info.js";
export type { ConnectGuestAgentOptions } from "./agent/options.js";
export {
  type FilteredText,
  filterKernelMessages,
  maskSecrets,
} from "./console/console-text.js";
export {
  ConsoleClosedError,
  ConsoleDesyncError,
  ConsoleLoggedOutError,
  ConsoleLoginError,
  ConsoleNotGuestError,
  ConsoleNotLoggedInError,
  ConsoleOutputError,
  ConsoleOverflowError,
  ConsoleScratchError,
  ConsoleTimeoutError,
} from "./console/errors.js";
export type { SerialConsoleOptions } from "./console/options.js";
export type { ExpectMatch, ExpectPattern } from "./console/patterns.js";
export { createSerialConsole, type SerialConsole } from "./console/serial-console.js";
export { TelnetCodec, type TelnetDecoded } from "./console/telnet.js";
export type {
  CommandResult,
  ControlChannel,
  IpAddress,
  NetworkInterface,
  RunOptions,
  WaitForNetworkOptions,
} from "./control-channel.js";
export { ControlCommandError, type ControlErrorCode } from "./errors.js";
export {
  dmiProductUuid,
  type GuestIdentity,
  guestHostname,
  qemuDmiVendor,
} from "./guest-identity.js";
export { networkMatches, parseIpOutput } from "./network.js";
export { type GuestSshHostKey, parseSshHostKey } from "./ssh-host-key.js";
