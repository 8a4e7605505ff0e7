/** QEMU's version, from the QMP greeting (same shape as `query-version`). */
export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  /** Distribution package string, e.g. `Debian 1:7.2+dfsg-7+deb12u18`. */
  package: string;
}

/** A QMP event timestamp (both `-1` if QEMU could not read its clock). */
export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/**
 * The data of the events this package knows by name. Any other event is
 * delivered too, with `data: Record<string, unknown>`.
 */
export interface QmpEventMap {
  STOP: Record<string, never>;
  RESUME: Record<string, never>;
  POWERDOWN: Record<string, never>;
  SHUTDOWN: { guest: boolean; reason: string };
  RESET: { guest: boolean; reason: string };
  /** `device` is absent for devices without an id (e.g. a device's internal child). */
  DEVICE_DELETED: { device?: string; path: string };
  MIGRATION: { status: MigrationStatus };
  MIGRATION_PASS: { pass: number };
  GUEST_PANICKED: { action: string; info?: Record<string, unknown> };
}

/** An event name: one of {@link QmpEventMap} or any other string. */
export type QmpEventName = keyof QmpEventMap | (string & {});

type EventData<N extends string> = N extends keyof QmpEventMap
  ? QmpEventMap[N]
  : Record<string, unknown>;

/**
 * An asynchronous QMP event. `data` is `{}` when QEMU sent none. For a union of
 * names, this is a union discriminated by `event`.
 */
export type QmpEvent<N extends string = string> = N extends unknown
  ? { event: N; data: EventData<N>; timestamp: QmpTimestamp }
  : never;

/** Which events a subscriber wants: one name, several, or a predicate. */
export type QmpEventFilter = string | readonly string[] | ((event: QmpEvent) => boolean);

/** QEMU's RunState, as reported by `query-status`. */
export type RunState =
  | "debug"
  | "inmigrate"
  | "internal-error"
  | "io-error"
  | "paused"
  | "postmigrate"
  | "prelaunch"
  | "finish-migrate"
  | "restore-vm"
  | "running"
  | "save-vm"
  | "shutdown"
  | "suspended"
  | "watchdog"
  | "guest-panicked"
  | "colo"
  | (string & {});

/** `query-status`. */
export interface VmStatus {
  status: RunState;
  /** True when vCPUs run (`status` is `running`). */
  running: boolean;
  singlestep: boolean;
}

/** A vCPU from `query-cpus-fast`. */
export interface Vcpu {
  /** `cpu-index`. */
  index: number;
  /** Host thread id (TID) of the vCPU thread: what `taskset -p` pins. */
  threadId: number;
  qomPath: string;
  /** QEMU target, e.g. `x86_64`. */
  target: string;
  /** Topology: `socket-id`, `core-id`, `thread-id`, `node-id`… as QEMU names them. */
  props: Record<string, number>;
}

/** MigrationStatus. `none` means no migration was started. */
export type MigrationStatus =
  | "none"
  | "setup"
  | "cancelling"
  | "cancelled"
  | "active"
  | "postcopy-active"
  | "postcopy-paused"
  | "postcopy-recover"
  | "completed"
  | "failed"
  | "colo"
  | "pre-switchover"
  | "device"
  | "wait-unplug"
  | (string & {});

/** RAM statistics of a migration (`query-migrate`'s `ram`), bytes unless named. */
export interface MigrationRamStats {
  transferred: number;
  remaining: number;
  total: number;
  duplicatePages: number;
  normalPages: number;
  normalBytes: number;
  dirtySyncCount: number;
  pageSize: number;
  /** Throughput in megabits per second. */
  mbps: number;
  dirtyPagesRate: number;
}

/** `query-migrate`, with times in milliseconds. */
export interface MigrationInfo {
  status: MigrationStatus;
  totalTimeMs?: number;
  expectedDowntimeMs?: number;
  downtimeMs?: number;
  setupTimeMs?: number;
  /** QEMU's `error-desc` of a failed migration. */
  errorDescription?: string;
  ram?: MigrationRamStats;
  /** The reply as QEMU sent it, for fields not mapped above. */
  raw: Record<string, unknown>;
}

/** Arguments of `migrate-set-parameters` (QMP names; any other is passed as is). */
export interface MigrationParameters {
  /** Bytes per second. */
  "max-bandwidth"?: number;
  /** Milliseconds. */
  "downtime-limit"?: number;
  "multifd-channels"?: number;
  "xbzrle-cache-size"?: number;
  "announce-initial"?: number;
  [parameter: string]: unknown;
}

/** A device for `device_add`: its driver, its id, and its properties. */
export interface DeviceSpec {
  driver: string;
  id: string;
  [property: string]: unknown;
}
