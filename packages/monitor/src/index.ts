// Public API: named re-exports only.
export type { CallOptions } from "./deadline.js";
export {
  HmpClosedError,
  HmpParseError,
  HmpProtocolError,
  MigrationError,
  MonitorAbortError,
  MonitorError,
  MonitorTimeoutError,
  QmpClosedError,
  QmpCommandError,
  QmpEventOverflowError,
  QmpProtocolError,
} from "./errors.js";
export {
  type ConnectHmpOptions,
  connectHmp,
  type HmpClient,
  type HmpCloseInfo,
  stripTerminalEscapes,
} from "./hmp-client.js";
export {
  type HmpCpu,
  type HmpMigrationInfo,
  type HmpPciBar,
  type HmpPciDevice,
  type HmpStatus,
  parseInfoCpus,
  parseInfoMigrate,
  parseInfoPci,
  parseInfoStatus,
} from "./hmp-parsers.js";
export { checkArguments } from "./json-arguments.js";
export { flattenQueryPci, formatPciAddress, type PciDevice } from "./pci.js";
export {
  type ConnectQmpOptions,
  connectQmp,
  type EventsOptions,
  type QmpClient,
} from "./qmp-client.js";
export type { QmpEventStream } from "./qmp-events.js";
export type {
  DeviceSpec,
  MigrationInfo,
  MigrationParameters,
  MigrationRamStats,
  MigrationStatus,
  QmpCloseInfo,
  QmpEvent,
  QmpEventFilter,
  QmpEventMap,
  QmpEventName,
  QmpTimestamp,
  QmpVersion,
  RunState,
  Vcpu,
  VmStatus,
} from "./qmp-types.js";
