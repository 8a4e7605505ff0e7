// Public API: named re-exports only.
export {
  AbortError,
  type CallOptions,
  ClosedError,
  type CloseInfo,
  InvalidArgumentError,
  LineTooLongError,
  QemuKvmError,
  TimeoutError,
} from "@qemu-kvm/core";
export {
  HmpClosedError,
  HmpParseError,
  HmpProtocolError,
  type MonitorErrorCode,
  QmpClosedError,
  QmpCommandError,
  QmpEventOverflowError,
  QmpMigrationError,
  QmpProtocolError,
} from "./errors.js";
export { type ConnectHmpOptions, connectHmp, type HmpClient } from "./hmp/client.js";
export { type HmpCpu, parseInfoCpus } from "./hmp/parsers/cpus.js";
export { type HmpMigrationInfo, parseInfoMigrate } from "./hmp/parsers/migrate.js";
export { type HmpPciBar, type HmpPciDevice, parseInfoPci } from "./hmp/parsers/pci.js";
export { type HmpStatus, parseInfoStatus } from "./hmp/parsers/status.js";
export { checkArguments } from "./qmp/arguments.js";
export { type ConnectQmpOptions, connectQmp, type QmpClient } from "./qmp/client.js";
export type { EventsOptions } from "./qmp/connection.js";
export type { QmpEventStream } from "./qmp/event-stream.js";
export { flattenQueryPci, type PciDevice } from "./qmp/pci.js";
export type {
  DeviceSpec,
  MigrationInfo,
  MigrationParameters,
  MigrationRamStats,
  MigrationStatus,
  QmpEvent,
  QmpEventFilter,
  QmpEventMap,
  QmpEventName,
  QmpTimestamp,
  QmpVersion,
  RunState,
  Vcpu,
  VmStatus,
} from "./qmp/types.js";
