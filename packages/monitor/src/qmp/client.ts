import type { Duplex } from "node:stream";
import {
  type CallOptions,
  type CloseInfo,
  checkCallOptions,
  checkTimeoutMs,
  withDeadline,
} from "@qemu-kvm/core";
import { operations } from "../diagnostics.js";
import { QmpClosedError, QmpProtocolError } from "../errors.js";
import { asError, checkBufferSize, checkByteLimit, DEFAULT_MAX_LINE_BYTES } from "../options.js";
import * as commands from "./commands.js";
import { type ConnectionSettings, type EventsOptions, QmpConnection } from "./connection.js";
import type { QmpEventStream } from "./event-stream.js";
import * as migration from "./migration.js";
import type { PciDevice } from "./pci.js";
import type {
  DeviceSpec,
  MigrationInfo,
  MigrationParameters,
  QmpEvent,
  QmpEventFilter,
  QmpEventName,
  QmpVersion,
  Vcpu,
  VmStatus,
} from "./types.js";

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
}

/** A QMP connection to one QEMU. Create it with {@link connectQmp}. */
export interface QmpClient extends AsyncDisposable {
  /** QEMU's version, from the greeting. */
  readonly version: QmpVersion;
  /** Capabilities QEMU offered in its greeting (e.g. `oob`); none is enabled. */
  readonly capabilities: readonly string[];
  /** Settles (never rejects) when the connection is over. */
  readonly closed: Promise<CloseInfo>;
  /** True once the connection is over. */
  readonly isClosed: boolean;

  /**
   * Runs a QMP command and resolves with its `return` value. Any number may be
   * in flight: replies are matched by id. Rejects with `ERR_QMP_COMMAND` (QMP's
   * error class and description), `ERR_QMP_CLOSED`, `ERR_TIMEOUT` or
   * `ERR_ABORTED`. A timed-out or aborted command may still run in QEMU: its
   * late reply is dropped. Throws `ERR_INVALID_ARGUMENT` at once for arguments
   * JSON cannot carry exactly (see `checkArguments`), before sending anything.
   */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<T>;

  /**
   * Subscribes (at once, not at the first `next()`) to the events that match
   * `filter` (every event when omitted), delivered in order. Bounded: see
   * {@link EventsOptions.bufferSize}. Ends cleanly when the connection ends,
   * throws `ERR_QMP_CLOSED` if it ended by an error; `break` unsubscribes.
   */
  events<N extends QmpEventName>(
    filter: N | readonly N[],
    options?: EventsOptions,
  ): QmpEventStream<QmpEvent<N>>;
  events(filter?: QmpEventFilter, options?: EventsOptions): QmpEventStream<QmpEvent>;

  /**
   * Resolves with the first event named `name` (or any of the names) for which
   * `predicate` returns true, counting from this call: arm it before the
   * command that triggers the event. Default deadline: none (`timeoutMs`
   * to set one). Rejects with `ERR_QMP_CLOSED` when the connection ends.
   * If nobody awaits it, its rejection is not reported as unhandled.
   */
  waitForEvent<N extends QmpEventName>(
    name: N | readonly N[],
    predicate?: (event: QmpEvent<N>) => boolean,
    options?: CallOptions,
  ): Promise<QmpEvent<N>>;

  /**
   * Calls `listener` synchronously for each matching event, in order, until
   * the returned function is called. An exception thrown by `listener` is
   * rethrown asynchronously (an uncaught exception), as an EventEmitter would.
   */
  on<N extends QmpEventName>(
    filter: N | readonly N[],
    listener: (event: QmpEvent<N>) => void,
  ): () => void;
  on(filter: QmpEventFilter | undefined, listener: (event: QmpEvent) => void): () => void;

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
    capabilities: Readonly<Record<string, boolean>>,
    options?: CallOptions,
  ): Promise<void>;
  /** `migrate-set-parameters`, e.g. `{ "max-bandwidth": 1e9, "downtime-limit": 300 }`. */
  setMigrationParameters(parameters: MigrationParameters, options?: CallOptions): Promise<void>;
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
  deviceAdd(device: DeviceSpec, options?: CallOptions): Promise<void>;
  /**
   * `device_del`, then waits for the `DEVICE_DELETED` of the device itself
   * (matched on its id, or its QOM path when `id` starts with `/`; events for
   * its children come first and are skipped). Resolves with that event.
   * Default deadline 30_000: a PCI device on an ACPI or PCIe hot-plug slot is
   * removed only once the guest acknowledges the unplug request.
   */
  deviceDel(id: string, options?: CallOptions): Promise<QmpEvent<"DEVICE_DELETED">>;

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
export function connectQmp(stream: Duplex, options?: ConnectQmpOptions): Promise<QmpClient> {
  const checked = checkCallOptions(options, CONNECT_OPTION_KEYS);
  checkBufferSize(checked.eventBufferSize, "options.eventBufferSize");
  checkTimeoutMs(checked.commandTimeoutMs, "options.commandTimeoutMs");
  checkByteLimit(checked.maxLineBytes, "options.maxLineBytes");
  const settings: ConnectionSettings = {
    commandTimeoutMs: checked.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    eventBufferSize: checked.eventBufferSize ?? DEFAULT_EVENT_BUFFER_SIZE,
    maxLineBytes: checked.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
  };
  const call = { signal: checked.signal, timeoutMs: checked.timeoutMs };
  return operations.trace("connect", "qmp", () => handshake(stream, settings, call));
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
    capabilities: Readonly<Record<string, boolean>>,
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
