// Public API: named re-exports only.
export {
  type FilteredText,
  filterKernelMessages,
  maskSecrets,
  stripTerminalEscapes,
} from "./console-text.js";
export {
  type ChannelCloseInfo,
  type CommandResult,
  type ControlChannel,
  type IpAddress,
  type NetworkInterface,
  networkMatches,
  parseIpOutput,
  type RunOptions,
  type WaitForNetworkOptions,
} from "./control-channel.js";
export type { CallOptions } from "./deadline.js";
export {
  CommandFailedError,
  ConsoleClosedError,
  ConsoleDesyncError,
  ConsoleLoggedOutError,
  ConsoleLoginError,
  ConsoleNotGuestError,
  ConsoleNotLoggedInError,
  ConsoleOutputError,
  ConsoleOverflowError,
  ControlAbortError,
  ControlError,
  ControlTimeoutError,
  GuestAgentClosedError,
  GuestAgentCommandError,
  GuestAgentProtocolError,
} from "./errors.js";
export type { ExpectMatch, ExpectPattern } from "./expect-buffer.js";
export {
  type ConnectGuestAgentOptions,
  connectGuestAgent,
  type ExecOptions,
  type ExecResult,
  type GuestAgentClient,
  type GuestAgentInfo,
  type GuestOsInfo,
  type ShutdownMode,
} from "./guest-agent.js";
export {
  dmiProductUuid,
  type GuestIdentity,
  guestHostname,
  qemuDmiVendor,
} from "./guest-identity.js";
export { type SerialConsole, type SerialConsoleOptions, serialConsole } from "./serial-console.js";
export { TelnetCodec, type TelnetDecoded } from "./telnet.js";
