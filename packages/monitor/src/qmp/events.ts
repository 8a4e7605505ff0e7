import type { QmpEventData, QmpEventName, QmpTarget } from "../schema/index.js";

/** A QMP event timestamp (both `-1` if QEMU could not read its clock). */
export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/**
 * An event as it arrives, before any typing: what the client's event
 * machinery carries. `data` is `{}` when QEMU sent none.
 */
export interface RawQmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp: QmpTimestamp;
}

type EventOf<N, V extends QmpTarget> =
  N extends QmpEventName<V>
    ? { event: N; data: QmpEventData<N, V>; timestamp: QmpTimestamp }
    : never;

/**
 * A QMP event of QEMU version `V` (default `"common"`), typed from QEMU's
 * schema: `QmpEvent<"MIGRATION">["data"]["status"]` is the MigrationStatus
 * enum. `N` is a name or a union of names (then a union discriminated by
 * `event`); omitted, every event of `V`. `data` is `{}` when QEMU sent none.
 */
export type QmpEvent<N extends string = string, V extends QmpTarget = "common"> = EventOf<
  string extends N ? QmpEventName<V> : N,
  V
>;

/** Which events a subscriber wants: a name of `V`, several, or a predicate. */
export type QmpEventFilter<V extends QmpTarget = "common"> =
  | QmpEventName<V>
  | readonly QmpEventName<V>[]
  | ((event: QmpEvent<string, V>) => boolean);

/** A filter as the event machinery takes it (names unchecked). */
export type RawEventFilter = string | readonly string[] | ((event: RawQmpEvent) => boolean);
