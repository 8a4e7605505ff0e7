/**
 * Names for the schema types the helpers of `QmpClient` take and return,
 * derived from the generated schemas (so they follow QEMU), for `V` =
 * `"common"` unless given.
 */
import type { QmpCommandArguments, QmpCommandResult, QmpEventData, QmpTarget } from "./index.js";

/** QEMU's version: `query-version`, and the QMP greeting's `version`. */
export type QmpVersion<V extends QmpTarget = "common"> = QmpCommandResult<"query-version", V>;

/** QEMU's RunState (`query-status`'s `status`): `"running"`, `"paused"`, `"prelaunch"`… */
export type RunState<V extends QmpTarget = "common"> = QmpCommandResult<
  "query-status",
  V
>["status"];

/** MigrationStatus (`query-migrate`, the `MIGRATION` event). `none`: no migration started. */
export type MigrationStatus<V extends QmpTarget = "common"> = QmpEventData<
  "MIGRATION",
  V
>["status"];

/** A migration capability name (`migrate-set-capabilities`): `"events"`, `"auto-converge"`… */
export type MigrationCapability<V extends QmpTarget = "common"> = QmpCommandArguments<
  "migrate-set-capabilities",
  V
>["capabilities"][number]["capability"];

/** The arguments of `migrate-set-parameters` (QMP names: `max-bandwidth` in bytes/s…). */
export type MigrationParameters<V extends QmpTarget = "common"> = QmpCommandArguments<
  "migrate-set-parameters",
  V
>;

/** A device for `QmpClient.deviceAdd`: `device_add`'s arguments, with the `id` required. */
export type DeviceSpec<V extends QmpTarget = "common"> = QmpCommandArguments<"device_add", V> & {
  id: string;
};
