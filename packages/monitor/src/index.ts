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
  QmpUnknownArgumentError,
  QmpUnknownCommandError,
} from "./errors.js";
export { type ConnectHmpOptions, connectHmp, type HmpClient } from "./hmp/client.js";
export { type HmpCpu, parseInfoCpus } from "./hmp/parsers/cpus.js";
export { type HmpMigrationInfo, parseInfoMigrate } from "./hmp/parsers/migrate.js";
export { type HmpPciBar, type HmpPciDevice, parseInfoPci } from "./hmp/parsers/pci.js";
export { type HmpStatus, parseInfoStatus } from "./hmp/parsers/status.js";
export { checkArguments } from "./qmp/arguments.js";
export {
  type ConnectQmpOptions,
  connectQmp,
  type QmpClient,
  type QmpExecuteRest,
} from "./qmp/client.js";
export type { Vcpu, VmStatus } from "./qmp/commands.js";
export type { EventsOptions } from "./qmp/connection.js";
export type { QmpEventStream } from "./qmp/event-stream.js";
export type { QmpEvent, QmpEventFilter, QmpTimestamp, RawQmpEvent } from "./qmp/events.js";
export type { MigrationInfo, MigrationRamStats } from "./qmp/migration.js";
export { flattenQueryPci, type PciDevice } from "./qmp/pci.js";
export { QmpSchema, type QmpSchemaEntry } from "./qmp/schema.js";
export type {
  QmpCommandArguments,
  QmpCommandName,
  QmpCommandResult,
  QmpCommands,
  QmpEventData,
  QmpEventName,
  QmpEvents,
  QmpSchemaVersion,
  QmpTarget,
} from "./schema/index.js";
export type {
  DeviceSpec,
  MigrationCapability,
  MigrationParameters,
  MigrationStatus,
  QmpVersion,
  RunState,
} from "./schema/names.js";
