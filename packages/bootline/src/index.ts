// Public API: named re-exports only.
export { type BuildCommandOptions, buildArgs, buildCommand } from "./build.js";
export { formatCpuList, MAX_CPU, parseCpuList } from "./cpu-list.js";
export {
  type DtsReadOptions,
  type DtsSectionInfo,
  type DtsVm,
  dtsSections,
  dtsVmSections,
  readDtsConfig,
} from "./dts-config.js";
export { DtsConfigError, type DtsConfigIssue, InvalidSpecError, type SpecIssue } from "./errors.js";
export {
  type Endpoint,
  type HostForwardFacts,
  type Listener,
  type ListenerKind,
  type OtherBackend,
  type PassthroughFacts,
  type RuntimePath,
  type RuntimePathKind,
  type SerialFacts,
  type SocketUser,
  specFacts,
  type VmFacts,
} from "./facts.js";
export {
  formatHostForward,
  type HostForwardSyntaxOptions,
  type ParsedHostForward,
  parseHostForward,
} from "./host-forward.js";
export { GUEST_AGENT_PORT_NAME, ids } from "./ids.js";
export {
  escapeOptionValue,
  formatOptionList,
  type OptionEntry,
  type OptionPart,
  splitOptionList,
} from "./option-list.js";
export { parseArgs, splitProcCmdline } from "./parse.js";
export {
  formatGuestSlot,
  formatPciAddress,
  type PciAddress,
  parseGuestSlot,
  parsePciAddress,
} from "./pci-address.js";
export { type Command, type PinOptions, pinnedCommand } from "./pin.js";
export { assignPorts, type PortKind, type PortRequest, unassignedPorts } from "./ports.js";
export { formatCommandLine, quoteShellWord } from "./shell-quote.js";
export type {
  BridgeNetSpec,
  CpuSpec,
  CryptoSpec,
  DisplaySpec,
  DriveInterface,
  DriveSpec,
  GuestAgentSpec,
  HostForward,
  IncomingSpec,
  KernelSpec,
  MachineSpec,
  MemoryBackendSpec,
  MemorySpec,
  NetSpec,
  NicOptions,
  PassthroughSpec,
  PflashSpec,
  PortSpec,
  Properties,
  PropertyValue,
  RuntimeFileSpec,
  SerialSpec,
  TapNetSpec,
  UserNetSpec,
  VhostUserNetSpec,
  VmSpec,
} from "./spec.js";
export {
  MAX_UNIX_SOCKET_PATH_BYTES,
  specIssues,
  type ValidateOptions,
  validateSpec,
} from "./validate.js";
