import {
  type CallOptions,
  checkCallOptions,
  InvalidArgumentError,
  withDeadline,
} from "@qemu-kvm/core";
import { QmpMigrationError } from "../errors.js";
import type { MigrationCapability, MigrationParameters, MigrationStatus } from "../schema/names.js";
import type { QmpClient } from "./client.js";

/** What the migration helpers need of a connection (typed for every known QEMU). */
type Qmp = Pick<QmpClient, "execute" | "waitForEvent">;

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

const TERMINAL: ReadonlySet<string> = new Set<MigrationStatus>([
  "completed",
  "failed",
  "cancelled",
]);
/** Inner calls run under the outer deadline's signal only. */
const NO_DEADLINE = Number.POSITIVE_INFINITY;

/** `migrate-set-capabilities` from `{ name: state }`. */
export function setMigrationCapabilities(
  qmp: Qmp,
  capabilities: Readonly<Partial<Record<MigrationCapability, boolean>>>,
  options?: CallOptions,
): Promise<void> {
  if (typeof capabilities !== "object" || capabilities === null)
    throw new InvalidArgumentError("capabilities", "an object of booleans", capabilities);
  const list = Object.entries(capabilities).map(([capability, state]) => {
    if (typeof state !== "boolean")
      throw new InvalidArgumentError(`capabilities.${capability}`, "true or false", state);
    return { capability: capability as MigrationCapability, state };
  });
  return qmp.execute("migrate-set-capabilities", { capabilities: list }, options).then(noValue);
}

/** `migrate-set-parameters`, QMP names as they are. */
export function setMigrationParameters(
  qmp: Qmp,
  parameters: MigrationParameters,
  options?: CallOptions,
): Promise<void> {
  if (typeof parameters !== "object" || parameters === null)
    throw new InvalidArgumentError("parameters", "an object of migration parameters", parameters);
  return qmp.execute("migrate-set-parameters", { ...parameters }, options).then(noValue);
}

/** Turns on the `events` capability (so the migration can be followed), then `migrate`. */
export function migrate(
  qmp: Qmp,
  uri: string,
  options: CallOptions | undefined,
  defaultTimeoutMs: number,
): Promise<void> {
  if (typeof uri !== "string" || uri.length === 0)
    throw new InvalidArgumentError("uri", "a migration URI (a non-empty string)", uri);
  const checked = checkCallOptions(options);
  return withDeadline("migrate", checked, { defaultTimeoutMs }, async (signal) => {
    const inner = { signal, timeoutMs: NO_DEADLINE };
    await setMigrationCapabilities(qmp, { events: true }, inner);
    await qmp.execute("migrate", { uri }, inner);
  });
}

/** `query-migrate`, times in milliseconds. */
export function queryMigration(qmp: Qmp, options?: CallOptions): Promise<MigrationInfo> {
  return qmp
    .execute("query-migrate", undefined, options)
    .then((reply) => toMigrationInfo(reply as Record<string, unknown>));
}

/**
 * Resolves with the final `query-migrate` once the migration completed;
 * rejects with `ERR_QMP_MIGRATION` when it ended `failed` or `cancelled`, or
 * cannot be followed (the `events` capability is off). Default deadline: none.
 */
export function waitForMigration(qmp: Qmp, options?: CallOptions): Promise<MigrationInfo> {
  const checked = checkCallOptions(options);
  return withDeadline("waitForMigration", checked, {}, async (signal) => {
    const inner = { signal, timeoutMs: NO_DEADLINE };
    // Armed before the first query, so the end cannot slip between the two.
    const ended = qmp.waitForEvent("MIGRATION", (event) => TERMINAL.has(event.data.status), inner);
    let info = await queryMigration(qmp, inner);
    if (!TERMINAL.has(info.status)) {
      await checkEventsCapability(qmp, info, inner);
      await ended;
      info = await queryMigration(qmp, inner);
    }
    info = await withFinalTimes(qmp, info, inner);
    if (info.status === "completed") return info;
    throw new QmpMigrationError({ status: info.status, errorDescription: info.errorDescription });
  });
}

/** Without the `events` capability no MIGRATION event comes: refuse to wait blind. */
async function checkEventsCapability(
  qmp: Qmp,
  info: MigrationInfo,
  options: CallOptions,
): Promise<void> {
  const capabilities = await qmp.execute("query-migrate-capabilities", undefined, options);
  if (!capabilities.some((item) => item.capability === "events" && item.state))
    throw new QmpMigrationError({
      status: info.status,
      message:
        "cannot follow this migration: the `events` migration capability is off (start it with migrate(), or set it with setMigrationCapabilities({ events: true }) first)",
    });
}

/**
 * QEMU announces `completed` a moment before it records the final times (the
 * source reports total-time 0 until then): read again until they are in. Each
 * read is a round trip through QEMU's main loop; no sleeping.
 */
async function withFinalTimes(
  qmp: Qmp,
  info: MigrationInfo,
  options: CallOptions,
): Promise<MigrationInfo> {
  let current = info;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (current.status !== "completed" || current.raw["total-time"] !== 0) break;
    current = await queryMigration(qmp, options);
  }
  return current;
}

/** `query-migrate` as {@link MigrationInfo}: times in ms, RAM statistics renamed. */
export function toMigrationInfo(raw: Record<string, unknown>): MigrationInfo {
  const status = typeof raw.status === "string" ? (raw.status as MigrationStatus) : "none";
  const info: MigrationInfo = { status, raw };
  const set = <K extends keyof MigrationInfo>(key: K, value: MigrationInfo[K] | undefined) => {
    if (value !== undefined) info[key] = value;
  };
  set("totalTimeMs", numberOrUndefined(raw["total-time"]));
  set("expectedDowntimeMs", numberOrUndefined(raw["expected-downtime"]));
  set("downtimeMs", numberOrUndefined(raw.downtime));
  set("setupTimeMs", numberOrUndefined(raw["setup-time"]));
  set("errorDescription", typeof raw["error-desc"] === "string" ? raw["error-desc"] : undefined);
  const ram = raw.ram as Record<string, unknown> | undefined;
  if (ram && typeof ram === "object") {
    const count = (value: unknown) => numberOrUndefined(value) ?? 0;
    info.ram = {
      transferred: count(ram.transferred),
      remaining: count(ram.remaining),
      total: count(ram.total),
      duplicatePages: count(ram.duplicate),
      normalPages: count(ram.normal),
      normalBytes: count(ram["normal-bytes"]),
      dirtySyncCount: count(ram["dirty-sync-count"]),
      pageSize: count(ram["page-size"]),
      mbps: count(ram.mbps),
      dirtyPagesRate: count(ram["dirty-pages-rate"]),
    };
  }
  return info;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

function noValue(): void {}
