// Public API: named re-exports only.

// The names of @qemu-kvm/core the pool's API uses: the same bindings.
export {
  AbortError,
  type CallOptions,
  ClosedError,
  InvalidArgumentError,
  type PortKind,
  QemuKvmError,
  TimeoutError,
} from "@qemu-kvm/core";
export { DEFAULT_PORT_RANGES } from "./client/options.js";
export { openPool } from "./client/resource-pool.js";
export {
  describeResource,
  type HolderFacts,
  PoolBusyError,
  PoolClosedError,
  PoolConflictError,
  type PoolErrorCode,
  PoolExhaustedError,
  PoolHolderGoneError,
  PoolHostError,
  type PoolPathKind,
  PoolStateError,
  PoolUnknownResourceError,
  PoolUnsafeError,
  type ResourceRef,
} from "./errors.js";
export { checkPoolState } from "./records/check.js";
export { parsePoolState } from "./records/parse.js";
export { POOL_STATE_FORMAT, POOL_STATE_VERSION } from "./records/records.js";
export type {
  CpuLease,
  CpuRequest,
  CpuTopology,
  HeartbeatOptions,
  Holder,
  Lease,
  LeaseGrant,
  LeasePortOptions,
  LeaseRequest,
  OwnerInfo,
  PciDeviceDescription,
  PciLease,
  PoolOptions,
  PoolSnapshot,
  PortLease,
  PortLeaseRequest,
  PortRange,
  ProcessRef,
  ResourcePool,
  TopologyDescription,
} from "./types.js";
