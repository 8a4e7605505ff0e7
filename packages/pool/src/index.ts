export { formatCpuList, parseCpuList } from "./cpu-list.js";
export {
  describeResource,
  type HolderFacts,
  PoolAbortError,
  PoolArgumentError,
  PoolBusyError,
  PoolClosedError,
  PoolConflictError,
  PoolError,
  type PoolErrorCode,
  PoolExhaustedError,
  PoolHolderGoneError,
  PoolHostError,
  PoolStateError,
  PoolTimeoutError,
  PoolUnknownResourceError,
  type ResourceRef,
} from "./errors.js";
export { DEFAULT_PORT_RANGES } from "./options.js";
export { normalizePciAddress } from "./pci-address.js";
export { openPool } from "./pool.js";
export { checkState, parseState, STATE_FORMAT, STATE_VERSION } from "./state.js";
export type {
  CallOptions,
  CpuLease,
  CpuRequest,
  CpuTopology,
  HeartbeatOptions,
  Holder,
  Lease,
  LeaseGrant,
  LeaseRequest,
  OwnerInfo,
  PciDeviceDescription,
  PciLease,
  PoolOptions,
  PoolSnapshot,
  PortKind,
  PortLease,
  PortRange,
  PortRequest,
  ProcessRef,
  ResourcePool,
  TopologyDescription,
} from "./types.js";
