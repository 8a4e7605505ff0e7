// Public API: named re-exports only.
export {
  armDeadline,
  type CallOptions,
  checkCallOptions,
  checkTimeoutMs,
  Deadline,
  type DeadlineSettings,
  delay,
  MAX_TIMER_MS,
  type StopReason,
  startTimer,
  withDeadline,
} from "./deadline.js";
export { type DebugLog, type DebugSection, debugLog } from "./debug.js";
export { OperationChannel, type OperationMessage } from "./diagnostics.js";
export { QemuKvmError, type SharedErrorCode } from "./errors/error.js";
export {
  AbortError,
  ClosedError,
  type ClosedErrorCode,
  InvalidArgumentError,
  LineTooLongError,
  TimeoutError,
} from "./errors/shared.js";
export { LineReader } from "./line-reader.js";
export { checkObject, checkOptionKeys } from "./options.js";
export { encodeQapiRequest, QapiCommandError } from "./qapi.js";
export { type CloseInfo, StreamSession, type StreamSessionHandlers } from "./stream-session.js";
export { formatCpuList, MAX_CPU, parseCpuList } from "./syntax/cpu-list.js";
export {
  formatGuestSlot,
  formatPciAddress,
  type GuestSlot,
  normalizePciAddress,
  type PciAddress,
  parseGuestSlot,
  parsePciAddress,
} from "./syntax/pci-address.js";
export { isPortKind, PORT_KINDS, type PortKind } from "./syntax/port-kind.js";
export { linuxSignalName } from "./syntax/signals.js";
export { checkVmName, isVmName, VM_NAME_PATTERN, VM_NAME_RULE } from "./syntax/vm-name.js";
export { describeValue, excerpt, preview, stripTerminalEscapes, tail } from "./text.js";
