// Public API: named re-exports only.
export {
  InvalidArgumentError,
  type PortKind,
  QemuKvmError,
} from "@qemu-kvm/core";
export { type BuildCommandOptions, buildArgs, buildCommand } from "./argv/build.js";
export { parseArgs, splitProcCmdline } from "./argv/parse.js";
export { type Command, type PinOptions, pinnedCommand } from "./argv/pin.js";
export { readDtsConfig } from "./dts/read.js";
export { dtsSections, dtsVmSections } from "./dts/sections.js";
export type { DtsReadOptions, DtsSectionInfo, DtsVm } from "./dts/types.js";
export {
  type BootlineErrorCode,
  DtsConfigError,
  type DtsConfigIssue,
  InvalidSpecError,
  type SpecIssue,
} from "./errors.js";
export { specFacts } from "./facts/spec-facts.js";
export type {
  DriveFacts,
  Endpoint,
  HostForwardFacts,
  Listener,
  ListenerKind,
  OtherBackend,
  PassthroughFacts,
  RuntimePath,
  RuntimePathKind,
  SerialFacts,
  SocketUser,
  VmFacts,
} from "./facts/vm-facts.js";
export {
  type SpecWarning,
  type SpecWarningCode,
  specWarnings,
} from "./facts/warnings.js";
export { assignPorts } from "./ports/assign.js";
export { type UnassignedPort, unassignedPorts } from "./ports/unassigned.js";
export type {
  BridgeNetSpec,
  CryptoSpec,
  DisplaySpec,
  GuestAgentSpec,
  HostForward,
  IncomingSpec,
  NetSpec,
  NicOptions,
  PassthroughSpec,
  RngSpec,
  SerialSpec,
  TapNetSpec,
  UserNetSpec,
  VgaType,
  VhostUserNetSpec,
} from "./spec/devices.js";
export { defaultEmulator } from "./spec/emulator.js";
export type { PortSpec, Properties, PropertyValue, RuntimeFileSpec } from "./spec/values.js";
export type {
  CpuSpec,
  DriveInterface,
  DriveSpec,
  KernelSpec,
  MachineSpec,
  MemoryBackendSpec,
  MemorySpec,
  PflashSpec,
  VmSpec,
} from "./spec/vm-spec.js";
export {
  formatHostForward,
  type HostForwardSyntaxOptions,
  type ParsedHostForward,
  parseHostForward,
} from "./syntax/host-forward.js";
export { GUEST_AGENT_PORT_NAME, ids } from "./syntax/ids.js";
export {
  escapeOptionValue,
  formatOptionList,
  type OptionEntry,
  type OptionPart,
  splitOptionList,
} from "./syntax/option-list.js";
export { formatCommandLine, quoteShellWord } from "./syntax/shell-quote.js";
export { MAX_UNIX_SOCKET_PATH_BYTES } from "./syntax/unix-socket.js";
export { specIssues, type ValidateOptions, validateSpec } from "./validate/resolve.js";
