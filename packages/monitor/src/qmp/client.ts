import type { Duplex } from "node:stream";
import {
  type CallOptions,
  type CloseInfo,
  checkCallOptions,
  checkTimeoutMs,
  InvalidArgumentError,
  withDeadline,
} from "@qemu-kvm/core";
import { operations } from "../diagnostics.js";
import { QmpClosedError, QmpProtocolError } from "../errors.js";
import { asError, checkBufferSize, checkByteLimit, DEFAULT_MAX_LINE_BYTES } from "../options.js";
import type {
  QmpCommandArguments,
  QmpCommandName,
  QmpCommandResult,
  QmpEventName,
  QmpTarget,
} from "../schema/index.js";
import type {
  DeviceSpec,
  MigrationCapability,
  MigrationParameters,
  QmpVersion,
} from "../schema/names.js";
import type { Vcpu, VmStatus } from "./commands.js";
import * as commands from "./commands.js";
import { type ConnectionSettings, type EventsOptions, QmpConnection } from "./connection.js";
import type { QmpEventStream } from "./event-stream.js";
import type { QmpEvent, QmpEventFilter } from "./events.js";
import type { MigrationInfo } from "./migration.js";
import * as migration from "./migration.js";
import type { PciDevice } from "./pci.js";
import type { QmpSchema } from "./schema.js";

/**
 * What follows the command name in `execute`: the arguments (optional when
 * every member is) and the call options.
 */
export type QmpExecuteRest<A> =
  Record<string, never> extends A
    ? [args?: A, options?: CallOptions]
    : [args: A, options?: CallOptions];

export interface ConnectQmpOptions extends CallOptions {
  /**
   * Deadline of connecting: greeting plus capability negotiation.
   * Default 30_000.
   */
  timeoutMs?: number;
  /**
   * Default deadline of every command (`execute` and the helpers built on it)
   * that does not pass its own `timeoutMs`. Default 60_000; `Infinity` = none.
   */
  commandTimeoutMs?: number;
  /** Default queue bound of an `events()` subscriber. Default 1_000. */
  eventBufferSize?: number;
  /**
   * The longest line QEMU may send, in bytes. A longer one destroys the
   * connection with `ERR_QMP_PROTOCOL` (`cause`: a `LineTooLongError`), so a
   * broken or hostile peer cannot exhaust memory. Default 16 MiB (a
   * `query-qmp-schema` reply is several hundred KB).
   */
  maxLineBytes?: number;
  /**
   * Check each command against the connected QEMU's own schema before sending
   * it: a command QEMU lacks rejects with `ERR_QMP_UNKNOWN_COMMAND`, an argument
   * it does not take with `ERR_QMP_UNKNOWN_ARGUMENT`, and nothing is sent. The
   * schema (`query-qmp-schema`, a few hundred KB) is fetched by the first
   * command and kept. Default false.
   */
  strict?: boolean;
}

/**
 * A QMP connection to one QEMU. Create it with {@link connectQmp}.
 *
 * Typed from QEMU's own schema for `V`: a QEMU version (`"7.2"`, `"10.0"`), or
 * `"common"` (the default): what every known version has.
 */
export interface QmpClient<V extends QmpTarget = "common"> extends AsyncDisposable {
  /** QEMU's version, from the greeting. */
  readonly version: QmpVersion<V>;
  /** Capabilities QEMU offered in its greeting (e.g. `oob`); none is enabled. */
  readonly capabilities: readonly string[];
  /** Settles (never rejects) when the connection is over. */
  readonly closed: Promise<CloseInfo>;
  /** True once the connection is over. */
  readonly isClosed: boolean;

  /**
   * Runs a QMP command and resolves with its `return` value. Typed from the
   * schema of `V`: the command must be one of `V`'s, its arguments are checked
   * (names, types, required members) and the result is typed. Any number may
   * be in flight: replies are matched by id. Rejects with `ERR_QMP_COMMAND`
   * (QMP's error class and description), `ERR_QMP_CLOSED`, `ERR_TIMEOUT` or
   * `ERR_ABORTED`, and in strict mode `ERR_QMP_UNKNOWN_COMMAND` or
   * `ERR_QMP_UNKNOWN_ARGUMENT` (unsent). A timed-out or aborted command may
   * still run in QEMU: its late reply is dropped. Throws `ERR_INVALID_ARGUMENT`
   * at once for arguments JSON cannot carry exactly (see `checkArguments`),
   * before sending anything.
   */
  execute<C extends QmpCommandName<V>>(
    command: C,
    ...rest: QmpExecuteRest<QmpCommandArguments<C, V>>
  ): Promise<QmpCommandResult<C, V>>;

  /**
   * `execute` without compile-time checks: any command name, any arguments,
   * the result typed `T` on your word. For commands of a QEMU newer than the
   * client is typed for, or built from input (the `qemu-kvm monitor` command).
   * The same at run time as `execute` (strict mode included).
   */
  executeUnchecked<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<T>;

  /**
   * The connected QEMU's schema (`query-qmp-schema`), fetched on the first
   * call and kept for the connection: its commands, events and arguments.
   */
  schema(options?: CallOptions): Promise<QmpSchema>;

  /**
   * Subscribes (at once, not at the first `next()`) to the events that match
   * `filter` (every event when omitted), delivered in order. Bounded: see
   * {@link EventsOptions.bufferSize}. Ends cleanly when the connection ends,
   * throws `ERR_QMP_CLOSED` if it ended by an error; `break` unsubscribes.
   */
  events<N extends QmpEventName<V>>(
    filter: N | readonly N[],
    options?: EventsOptions,
  ): QmpEventStream<QmpEvent<N, V>>;
  events(filter?: QmpEventFilter<V>, options?: EventsOptions): QmpEventStream<QmpEvent<string, V>>;

  /**
   * Resolves with the first event named `name` (or any of the names) for which
   * `predicate` returns true, counting from this call: arm it before the
   * command that triggers the event. Default deadline: none (`timeoutMs`
   * to set one). Rejects with `ERR_QMP_CLOSED` when the connection ends.
   * If nobody awaits it, its rejection is not reported as unhandled.
   */
  waitForEvent<N extends QmpEventName<V>>(
    name: N | readonly N[],
    predicate?: (event: QmpEvent<N, V>) => boolean,
    options?: CallOptions,
  ): Promise<QmpEvent<N, V>>;

  /**
   * Calls `listener` synchronously for each matching event, in order, until
   * the returned function is called. An exception thrown by `listener` is
   * rethrown asynchronously (an uncaught exception), as an EventEmitter would.
   */
  on<N extends QmpEventName<V>>(
    filter: N | readonly N[],
    listener: (event: QmpEvent<N, V>) => void,
  ): () => void;
  on(
    filter: QmpEventFilter<V> | undefined,
    listener: (event: QmpEvent<string, V>) => void,
  ): () => void;

  /** `human-monitor-command`: runs an HMP command line, returns its output (`\n` line ends). */
  hmp(commandLine: string, options?: CallOptions): Promise<string>;
  /** `query-status`. */
  queryStatus(options?: CallOptions): Promise<VmStatus>;
  /**
   * `query-pci`, flattened (bridges recursed) with guest addresses and qdev ids.
   * Devices behind a bridge are listed only once the guest firmware has
   * numbered its bus.
   */
  queryPciDevices(options?: CallOptions): Promise<PciDevice[]>;
  /** `query-cpus-fast`: vCPU indexes and their host thread ids. */
  queryVcpus(options?: CallOptions): Promise<Vcpu[]>;
  /**
   * Turns on the `events` migration capability (so that `waitForMigration`
   * can follow it), then `migrate` to `uri` (`tcp:127.0.0.1:4444`,
   * `unix:/path`, `exec:…`). Resolves once the migration has started.
   */
  migrate(uri: string, options?: CallOptions): Promise<void>;
  /** `query-migrate`. `status` is `none` before any migration. */
  queryMigration(options?: CallOptions): Promise<MigrationInfo>;
  /** `migrate_cancel`; the migration then passes through `cancelling` to `cancelled`. */
  cancelMigration(options?: CallOptions): Promise<void>;
  /** `migrate-set-capabilities`, e.g. `{ events: true, "auto-converge": true }`. */
  setMigrationCapabilities(
    capabilities: Readonly<Partial<Record<MigrationCapability<V>, boolean>>>,
    options?: CallOptions,
  ): Promise<void>;
  /** `migrate-set-parameters`, e.g. `{ "max-bandwidth": 1e9, "downtime-limit": 300 }`. */
  setMigrationParameters(parameters: MigrationParameters<V>, options?: CallOptions): Promise<void>;
  /**
   * Resolves with the final `query-migrate` once the migration completed;
   * rejects with `ERR_QMP_MIGRATION` when it ends `failed` or `cancelled`.
   * Event-driven (needs the `events` capability, which `migrate()` turns on;
   * rejects at once if it is off while a migration runs). Works on the source
   * and on an incoming destination (where status stays `none` until the source
   * connects). Default deadline: none.
   */
  waitForMigration(options?: CallOptions): Promise<MigrationInfo>;
  /**
   * `system_powerdown`: an ACPI power-button press. QEMU emits `POWERDOWN`;
   * a guest that ignores ACPI keeps running.
   */
  systemPowerdown(options?: CallOptions): Promise<void>;
  /**
   * `quit`, then waits until QEMU has closed the connection, which it does as
   * it exits (the reply may or may not arrive first). Default deadline 30_000.
   */
  quit(options?: CallOptions): Promise<void>;
  /** `device_add` (`{ driver, id, ...properties }`). */
  deviceAdd(device: DeviceSpec<V>, options?: CallOptions): Promise<void>;
  /**
   * `device_del`, then waits for the `DEVICE_DELETED` of the device itself
   * (matched on its id, or its QOM path when `id` starts with `/`; events for
   * its children come first and are skipped). Resolves with that event.
   * Default deadline 30_000: a PCI device on an ACPI or PCIe hot-plug slot is
   * removed only once the guest acknowledges the unplug request.
   */
  deviceDel(id: string, options?: CallOptions): Promise<QmpEvent<"DEVICE_DELETED", V>>;

  /**
   * Graceful: refuses new commands, waits for those in flight to settle, then
   * closes the stream. Pending `waitForEvent`s reject with `ERR_QMP_CLOSED`.
   */
  close(): Promise<void>;
  /** Abrupt: destroys the stream; everything pending rejects with `ERR_QMP_CLOSED` (`cause`: `reason`). */
  destroy(reason?: Error): void;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const DEFAULT_EVENT_BUFFER_SIZE = 1_000;
const CONNECT_OPTION_KEYS = [
  "signal",
  "timeoutMs",
  "commandTimeoutMs",
  "eventBufferSize",
  "maxLineBytes",
  "strict",
];

/**
 * Connects a QMP client over `stream` (a connected unix or TCP socket, or any
 * duplex such as one forwarded over SSH): reads the greeting (events sent
 * before it are dropped), negotiates capabilities (none enabled) and resolves
 * once QEMU has answered `qmp_capabilities`.
 *
 * QEMU sends the greeting as soon as its socket exists, before the machine is
 * set up; it answers commands from its main loop, which runs only after setup.
 * So when this resolves, QEMU's setup is complete.
 *
 * Invalid options throw `ERR_INVALID_ARGUMENT` at once and leave the stream to
 * the caller. Otherwise, on failure the stream is destroyed and this rejects
 * with `ERR_TIMEOUT`, `ERR_ABORTED`, `ERR_QMP_CLOSED`, `ERR_QMP_PROTOCOL` or
 * `ERR_QMP_COMMAND`.
 */
export function connectQmp<V extends QmpTarget = "common">(
  stream: Duplex,
  options?: ConnectQmpOptions,
): Promise<QmpClient<V>> {
  const checked = checkCallOptions(options, CONNECT_OPTION_KEYS);
  checkBufferSize(checked.eventBufferSize, "options.eventBufferSize");
  checkTimeoutMs(checked.commandTimeoutMs, "options.commandTimeoutMs");
  checkByteLimit(checked.maxLineBytes, "options.maxLineBytes");
  const settings: ConnectionSettings = {
    commandTimeoutMs: checked.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    eventBufferSize: checked.eventBufferSize ?? DEFAULT_EVENT_BUFFER_SIZE,
    maxLineBytes: checked.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    strict: checkStrict(checked.strict),
  };
  const call = { signal: checked.signal, timeoutMs: checked.timeoutMs };
  // The client is typed for V on the caller's word (the schemas differ in types only).
  return operations.trace("connect", "qmp", () =>
    handshake(stream, settings, call),
  ) as unknown as Promise<QmpClient<V>>;
}

function checkStrict(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean")
    throw new InvalidArgumentError("options.strict", "a boolean", value);
  return value;
}

async function handshake(
  stream: Duplex,
  settings: ConnectionSettings,
  options: CallOptions,
): Promise<QmpClient> {
  const client = new DefaultQmpClient(stream, settings);
  try {
    await withDeadline(
      "QMP connect",
      options,
      { defaultTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS },
      () => client.handshake(),
    );
  } catch (error) {
    client.destroy(asError(error));
    // Not QMP at all: say that, rather than "closed".
    if (QmpClosedError.isInstance(error) && QmpProtocolError.isInstance(error.cause))
      throw error.cause;
    throw error;
  }
  return client;
}

/** The client: the protocol of {@link QmpConnection} and the command helpers. */
class DefaultQmpClient extends QmpConnection implements QmpClient {
  // The typed API is the connection's own methods under their public names
  // (assigned below): the types cost nothing at run time.
  declare readonly execute: QmpClient["execute"];
  declare readonly events: QmpClient["events"];
  declare readonly waitForEvent: QmpClient["waitForEvent"];
  declare readonly on: QmpClient["on"];

  hmp(commandLine: string, options?: CallOptions): Promise<string> {
    return commands.hmp(this, commandLine, options);
  }

  queryStatus(options?: CallOptions): Promise<VmStatus> {
    return commands.queryStatus(this, options);
  }

  queryPciDevices(options?: CallOptions): Promise<PciDevice[]> {
    return commands.queryPciDevices(this, options);
  }

  queryVcpus(options?: CallOptions): Promise<Vcpu[]> {
    return commands.queryVcpus(this, options);
  }

  systemPowerdown(options?: CallOptions): Promise<void> {
    return commands.run(this, "system_powerdown", options);
  }

  deviceAdd(device: DeviceSpec, options?: CallOptions): Promise<void> {
    return commands.deviceAdd(this, device, options);
  }

  deviceDel(id: string, options?: CallOptions): Promise<QmpEvent<"DEVICE_DELETED">> {
    return commands.deviceDel(this, id, options);
  }

  migrate(uri: string, options?: CallOptions): Promise<void> {
    return migration.migrate(this, uri, options, this.commandTimeoutMs);
  }

  queryMigration(options?: CallOptions): Promise<MigrationInfo> {
    return migration.queryMigration(this, options);
  }

  cancelMigration(options?: CallOptions): Promise<void> {
    return commands.run(this, "migrate_cancel", options);
  }

  setMigrationCapabilities(
    capabilities: Readonly<Partial<Record<MigrationCapability, boolean>>>,
    options?: CallOptions,
  ): Promise<void> {
    return migration.setMigrationCapabilities(this, capabilities, options);
  }

  setMigrationParameters(parameters: MigrationParameters, options?: CallOptions): Promise<void> {
    return migration.setMigrationParameters(this, parameters, options);
  }

  waitForMigration(options?: CallOptions): Promise<MigrationInfo> {
    return migration.waitForMigration(this, options);
  }
}

for (const [name, method] of [
  ["execute", QmpConnection.prototype.executeUnchecked],
  ["events", QmpConnection.prototype.subscribe],
  ["waitForEvent", QmpConnection.prototype.waitFor],
  ["on", QmpConnection.prototype.listen],
] as const)
  Object.defineProperty(DefaultQmpClient.prototype, name, {
    value: method,
    writable: true,
    configurable: true,
  });
