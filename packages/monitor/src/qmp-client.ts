import type { Duplex } from "node:stream";
import { arm, type CallOptions, checkTimeout, withDeadline } from "./deadline.js";
import { debug, preview } from "./debug.js";
import {
  MigrationError,
  MonitorAbortError,
  QmpClosedError,
  QmpCommandError,
  QmpProtocolError,
} from "./errors.js";
import { checkArguments } from "./json-arguments.js";
import { LineReader } from "./line-reader.js";
import { flattenQueryPci, type PciDevice } from "./pci.js";
import { compileFilter, type EventSink, QmpEventStream } from "./qmp-events.js";
import type {
  DeviceSpec,
  MigrationInfo,
  MigrationParameters,
  QmpCloseInfo,
  QmpEvent,
  QmpEventFilter,
  QmpEventName,
  QmpVersion,
  Vcpu,
  VmStatus,
} from "./qmp-types.js";

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
}

export interface EventsOptions {
  /** Ends the subscription: the iterator then throws `ERR_ABORTED`. */
  signal?: AbortSignal;
  /**
   * Events this subscriber may have queued, unconsumed. When one more arrives,
   * the subscription ends and the iterator throws `ERR_QMP_EVENT_OVERFLOW` after
   * the queued events. Default: the client's `eventBufferSize` (1_000).
   */
  bufferSize?: number;
}

/** A QMP connection to one QEMU. Create it with {@link connectQmp}. */
export interface QmpClient extends AsyncDisposable {
  /** QEMU's version, from the greeting. */
  readonly version: QmpVersion;
  /** Capabilities QEMU offered in its greeting (e.g. `oob`); none is enabled. */
  readonly capabilities: readonly string[];
  /** Settles (never rejects) when the connection is over. */
  readonly closed: Promise<QmpCloseInfo>;
  /** True once the connection is over. */
  readonly isClosed: boolean;

  /**
   * Runs a QMP command and resolves with its `return` value. Any number may be
   * in flight: replies are matched by id. Rejects with `ERR_QMP_COMMAND` (QMP's
   * error class and description), `ERR_QMP_CLOSED`, `ERR_TIMEOUT` or
   * `ERR_ABORTED`. A timed-out or aborted command may still run in QEMU: its
   * late reply is dropped. Throws a `TypeError` at once for arguments JSON
   * cannot carry exactly (see `checkArguments`).
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
}

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const DEFAULT_EVENT_BUFFER_SIZE = 1_000;
const DEFAULT_QUIT_TIMEOUT_MS = 30_000;
const DEFAULT_DEVICE_DEL_TIMEOUT_MS = 30_000;

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
 * On failure the stream is destroyed and this rejects with `ERR_TIMEOUT`,
 * `ERR_ABORTED`, `ERR_QMP_CLOSED`, `ERR_QMP_PROTOCOL` or `ERR_QMP_COMMAND`.
 */
export async function connectQmp(
  stream: Duplex,
  options: ConnectQmpOptions = {},
): Promise<QmpClient> {
  checkTimeout(options.timeoutMs);
  checkTimeout(options.commandTimeoutMs, "commandTimeoutMs");
  checkBufferSize(options.eventBufferSize, "eventBufferSize");
  const client = new DefaultQmpClient(stream, {
    commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    eventBufferSize: options.eventBufferSize ?? DEFAULT_EVENT_BUFFER_SIZE,
  });
  try {
    await withDeadline("QMP connect", options, DEFAULT_CONNECT_TIMEOUT_MS, () =>
      client.handshake(),
    );
  } catch (error) {
    client.destroy(error instanceof Error ? error : new Error(String(error)));
    // Not QMP at all: say that, rather than "closed".
    if (error instanceof QmpClosedError && error.cause instanceof QmpProtocolError)
      throw error.cause;
    throw error;
  }
  return client;
}

function checkBufferSize(value: number | undefined, name: string): void {
  if (value === undefined) return;
  if (value !== Number.POSITIVE_INFINITY && (!Number.isInteger(value) || value < 1))
    throw new TypeError(`${name} must be a positive integer or Infinity, got ${value}`);
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  disarm(): void;
}

type Phase = "greeting" | "negotiating" | "ready" | "closing" | "closed";

const TERMINAL_MIGRATION = new Set(["completed", "failed", "cancelled"]);

class DefaultQmpClient implements QmpClient {
  readonly #stream: Duplex;
  readonly #commandTimeoutMs: number;
  readonly #eventBufferSize: number;
  readonly #reader = new LineReader();
  readonly #pending = new Map<number, Pending>();
  readonly #sinks = new Set<EventSink>();
  #nextId = 1;
  #phase: Phase = "greeting";
  /** Line processing paused (see #onNegotiated). */
  #deferred = false;
  /** The stream ended while paused: finalize once the lines received are handled. */
  #endAfterDrain: { by: QmpCloseInfo["by"]; error: Error | undefined } | undefined;
  #corked = false;
  #greeting: { resolve(): void; reject(error: unknown): void } | undefined;
  #onIdle: (() => void) | undefined;
  #version: QmpVersion = { qemu: { major: 0, minor: 0, micro: 0 }, package: "" };
  #capabilities: readonly string[] = [];
  #closeInfo: QmpCloseInfo | undefined;
  readonly closed: Promise<QmpCloseInfo>;
  #resolveClosed!: (info: QmpCloseInfo) => void;

  constructor(stream: Duplex, options: { commandTimeoutMs: number; eventBufferSize: number }) {
    this.#stream = stream;
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#eventBufferSize = options.eventBufferSize;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    stream.on("data", this.#onData);
    stream.on("end", this.#onEnd);
    stream.on("error", this.#onError);
    stream.on("close", this.#onClose);
    if (stream.destroyed || stream.readableEnded) {
      queueMicrotask(() => this.#finalize("peer", new Error("the stream was already closed")));
    }
  }

  get version(): QmpVersion {
    return this.#version;
  }

  get capabilities(): readonly string[] {
    return this.#capabilities;
  }

  get isClosed(): boolean {
    return this.#closeInfo !== undefined;
  }

  /** Waits for the greeting, then negotiates. Called once, by connectQmp. */
  async handshake(): Promise<void> {
    if (this.#phase === "greeting") {
      await new Promise<void>((resolve, reject) => {
        this.#greeting = { resolve, reject };
      });
    }
    this.#phase = "negotiating";
    // Its reply switches to "ready" (see #reply).
    await this.#send("qmp_capabilities", undefined, undefined, Number.POSITIVE_INFINITY);
  }

  // ---------------------------------------------------------------- commands

  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<T> {
    if (typeof command !== "string" || command.length === 0)
      throw new TypeError("a QMP command is a non-empty string");
    checkArguments(command, args);
    checkTimeout(options.timeoutMs);
    return this.#send(command, args, options.signal, options.timeoutMs ?? this.#commandTimeoutMs);
  }

  #send<T>(
    command: string,
    args: Record<string, unknown> | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<T> {
    if (this.#closeInfo || this.#phase === "closing")
      return Promise.reject(
        new QmpClosedError({ operation: command, cause: this.#closeInfo?.error }),
      );
    if (signal?.aborted)
      return Promise.reject(new MonitorAbortError({ operation: command, cause: signal.reason }));
    const id = this.#nextId++;
    const line =
      args === undefined
        ? `{"execute":${JSON.stringify(command)},"id":${id}}\n`
        : `${JSON.stringify({ execute: command, arguments: args, id })}\n`;
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        command,
        resolve: resolve as (value: unknown) => void,
        reject,
        disarm: arm(command, signal, timeoutMs, (error) => {
          this.#pending.delete(id);
          debug("qmp: %s (id %d) gave up: %s", command, id, error.message);
          reject(error);
          this.#checkIdle();
        }),
      };
      this.#pending.set(id, pending);
      this.#write(line);
    });
  }

  #write(line: string): void {
    if (debug.enabled) debug("qmp -> %s", preview(line.trimEnd()));
    // Commands issued in the same tick leave in one write (writev): pipelining
    // 1,000 commands costs one syscall, not 1,000.
    if (!this.#corked) {
      this.#corked = true;
      this.#stream.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#stream.uncork();
      });
    }
    this.#stream.write(line);
  }

  // ------------------------------------------------------------------ input

  readonly #onData = (chunk: Buffer | string): void => {
    this.#reader.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
    this.#drain();
  };

  #drain(): void {
    while (!this.#deferred && !this.#closeInfo) {
      const line = this.#reader.next();
      if (line === undefined) return;
      if (line.trim() === "") continue;
      if (debug.enabled) debug("qmp <- %s", preview(line));
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch (error) {
        this.#protocolError(
          line.startsWith("QEMU ") && line.includes("monitor")
            ? "this is QEMU's human monitor (-monitor), not QMP (-qmp): use connectHmp"
            : line.trim() === "{"
              ? "QEMU sent a line that is not JSON (pretty=on QMP output is not supported)"
              : "QEMU sent a line that is not JSON",
          line,
          error,
        );
        return;
      }
      if (message === null || typeof message !== "object" || Array.isArray(message)) {
        this.#protocolError("QEMU sent a JSON value that is not an object", line);
        return;
      }
      this.#handle(message as Record<string, unknown>, line);
    }
  }

  #handle(message: Record<string, unknown>, line: string): void {
    if (typeof message.event === "string") {
      if (this.#phase === "ready" || this.#phase === "closing") this.#dispatch(message);
      else debug("qmp: %s before negotiation dropped", message.event);
      return;
    }
    if ("return" in message || "error" in message) {
      this.#reply(message, line);
      return;
    }
    if ("QMP" in message) {
      this.#onGreeting(message.QMP, line);
      return;
    }
    debug("qmp: unknown message dropped: %s", preview(line));
  }

  #onGreeting(greeting: unknown, line: string): void {
    if (this.#phase !== "greeting") {
      debug("qmp: second greeting ignored");
      return;
    }
    const fields = greeting as { version?: QmpVersion; capabilities?: unknown } | null;
    if (!fields || typeof fields !== "object" || typeof fields.version?.qemu?.major !== "number") {
      this.#protocolError("QEMU's greeting has no version", line);
      return;
    }
    this.#version = fields.version;
    this.#capabilities = Array.isArray(fields.capabilities)
      ? fields.capabilities.filter((item): item is string => typeof item === "string")
      : [];
    this.#phase = "negotiating";
    const waiter = this.#greeting;
    this.#greeting = undefined;
    waiter?.resolve();
  }

  /**
   * Negotiation is complete, but the caller of connectQmp gets the client only
   * in a later microtask. Lines already received (events) wait for a macrotask,
   * so the caller's continuation can subscribe before any event is dispatched.
   */
  #onNegotiated(): void {
    if (this.#closeInfo) return;
    this.#phase = "ready";
    this.#deferred = true;
    setImmediate(() => {
      this.#deferred = false;
      this.#drain();
      const end = this.#endAfterDrain;
      if (end) this.#finalize(end.by, end.error);
    });
  }

  #reply(message: Record<string, unknown>, line: string): void {
    const id = message.id;
    if (id === undefined) {
      // QEMU answers without an id only when it could not parse a request. Every
      // request is checked before it is sent, so the stream is no longer trusted.
      const error = message.error as { desc?: unknown } | undefined;
      this.#protocolError(
        `QEMU answered without an id${typeof error?.desc === "string" ? `: ${error.desc}` : ""}`,
        line,
      );
      return;
    }
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (!pending) {
      debug("qmp: reply for unknown id %j dropped (a command that timed out or was aborted?)", id);
      return;
    }
    this.#pending.delete(id as number);
    pending.disarm();
    if ("error" in message) {
      const error = (message.error ?? {}) as { class?: unknown; desc?: unknown };
      pending.reject(
        new QmpCommandError({
          command: pending.command,
          errorClass: typeof error.class === "string" ? error.class : "GenericError",
          description: typeof error.desc === "string" ? error.desc : JSON.stringify(error),
        }),
      );
    } else {
      pending.resolve(message.return);
      if (this.#phase === "negotiating" && pending.command === "qmp_capabilities")
        this.#onNegotiated();
    }
    this.#checkIdle();
  }

  #dispatch(message: Record<string, unknown>): void {
    const data = message.data;
    const event = {
      event: message.event as string,
      data: data !== null && typeof data === "object" ? data : {},
      timestamp: (message.timestamp as QmpEvent["timestamp"]) ?? { seconds: -1, microseconds: -1 },
    } as QmpEvent;
    if (this.#sinks.size === 0) return;
    // A snapshot: a sink added while this event is dispatched starts with the next one.
    for (const sink of [...this.#sinks]) {
      if (this.#sinks.has(sink)) sink.offer(event);
    }
  }

  // ----------------------------------------------------------------- events

  events<N extends QmpEventName>(
    filter: N | readonly N[],
    options?: EventsOptions,
  ): QmpEventStream<QmpEvent<N>>;
  events(filter?: QmpEventFilter, options?: EventsOptions): QmpEventStream<QmpEvent>;
  events(filter?: QmpEventFilter, options: EventsOptions = {}): QmpEventStream<QmpEvent> {
    checkBufferSize(options.bufferSize, "bufferSize");
    const stream = new QmpEventStream({
      filter,
      bufferSize: options.bufferSize ?? this.#eventBufferSize,
      signal: options.signal,
      unsubscribe: (sink) => this.#sinks.delete(sink),
    });
    if (this.#closeInfo) stream.end(this.#closeInfo);
    else if (!options.signal?.aborted) this.#sinks.add(stream); // (an aborted one has ended)
    return stream;
  }

  waitForEvent<N extends QmpEventName>(
    name: N | readonly N[],
    predicate?: (event: QmpEvent<N>) => boolean,
    options: CallOptions = {},
  ): Promise<QmpEvent<N>> {
    const matches = compileFilter(name);
    checkTimeout(options.timeoutMs);
    const operation = `waitForEvent ${Array.isArray(name) ? name.join("|") : name}`;
    const promise = new Promise<QmpEvent<N>>((resolve, reject) => {
      if (this.#closeInfo) {
        reject(new QmpClosedError({ operation, cause: this.#closeInfo.error }));
        return;
      }
      let disarm = (): void => {};
      const sink: EventSink = {
        offer: (event) => {
          if (!matches(event)) return;
          let found: boolean;
          try {
            found = predicate ? predicate(event as QmpEvent<N>) : true;
          } catch (error) {
            settle();
            reject(error);
            return;
          }
          if (found) {
            settle();
            resolve(event as QmpEvent<N>);
          }
        },
        end: (info) => {
          settle();
          reject(new QmpClosedError({ operation, cause: info.error }));
        },
      };
      const settle = () => {
        disarm();
        this.#sinks.delete(sink);
      };
      disarm = arm(
        operation,
        options.signal,
        options.timeoutMs ?? Number.POSITIVE_INFINITY,
        (error) => {
          this.#sinks.delete(sink);
          reject(error);
        },
      );
      if (!options.signal?.aborted) this.#sinks.add(sink);
    });
    // Armed waits are often abandoned when the command meant to trigger them fails:
    // their later rejection (closed, timeout) must not crash the process.
    promise.catch(() => {});
    return promise;
  }

  on<N extends QmpEventName>(
    filter: N | readonly N[],
    listener: (event: QmpEvent<N>) => void,
  ): () => void;
  on(filter: QmpEventFilter | undefined, listener: (event: QmpEvent) => void): () => void;
  on(filter: QmpEventFilter | undefined, listener: (event: QmpEvent) => void): () => void {
    const matches = compileFilter(filter);
    if (typeof listener !== "function") throw new TypeError("listener must be a function");
    const sink: EventSink = {
      offer: (event) => {
        if (!matches(event)) return;
        try {
          listener(event);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      },
      end: () => {},
    };
    if (!this.#closeInfo) this.#sinks.add(sink);
    return () => {
      this.#sinks.delete(sink);
    };
  }

  // ---------------------------------------------------------------- helpers

  async hmp(commandLine: string, options: CallOptions = {}): Promise<string> {
    if (typeof commandLine !== "string") throw new TypeError("commandLine must be a string");
    const output = await this.execute<string>(
      "human-monitor-command",
      { "command-line": commandLine },
      options,
    );
    return output.replace(/\r\n/g, "\n");
  }

  async queryStatus(options?: CallOptions): Promise<VmStatus> {
    const reply = await this.execute<{ status: string; running: boolean; singlestep?: boolean }>(
      "query-status",
      undefined,
      options,
    );
    return { status: reply.status, running: reply.running, singlestep: reply.singlestep ?? false };
  }

  async queryPciDevices(options?: CallOptions): Promise<PciDevice[]> {
    return flattenQueryPci(
      await this.execute<Parameters<typeof flattenQueryPci>[0]>("query-pci", undefined, options),
    );
  }

  async queryVcpus(options?: CallOptions): Promise<Vcpu[]> {
    const reply = await this.execute<
      {
        "cpu-index": number;
        "thread-id": number;
        "qom-path": string;
        target: string;
        props?: Record<string, number>;
      }[]
    >("query-cpus-fast", undefined, options);
    return reply.map((cpu) => ({
      index: cpu["cpu-index"],
      threadId: cpu["thread-id"],
      qomPath: cpu["qom-path"],
      target: cpu.target,
      props: cpu.props ?? {},
    }));
  }

  migrate(uri: string, options: CallOptions = {}): Promise<void> {
    if (typeof uri !== "string" || uri.length === 0)
      throw new TypeError("a migration uri is a non-empty string");
    return withDeadline("migrate", options, this.#commandTimeoutMs, async (signal) => {
      const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
      await this.setMigrationCapabilities({ events: true }, inner);
      await this.execute("migrate", { uri }, inner);
    });
  }

  async queryMigration(options?: CallOptions): Promise<MigrationInfo> {
    return toMigrationInfo(
      await this.execute<Record<string, unknown>>("query-migrate", undefined, options),
    );
  }

  async cancelMigration(options?: CallOptions): Promise<void> {
    await this.execute("migrate_cancel", undefined, options);
  }

  async setMigrationCapabilities(
    capabilities: Readonly<Record<string, boolean>>,
    options?: CallOptions,
  ): Promise<void> {
    const list = Object.entries(capabilities).map(([capability, state]) => {
      if (typeof state !== "boolean")
        throw new TypeError(`migration capability ${capability} must be true or false`);
      return { capability, state };
    });
    await this.execute("migrate-set-capabilities", { capabilities: list }, options);
  }

  async setMigrationParameters(
    parameters: MigrationParameters,
    options?: CallOptions,
  ): Promise<void> {
    await this.execute("migrate-set-parameters", { ...parameters }, options);
  }

  waitForMigration(options: CallOptions = {}): Promise<MigrationInfo> {
    return withDeadline("waitForMigration", options, Number.POSITIVE_INFINITY, async (signal) => {
      const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
      // Armed before the first query, so the end cannot slip between the two.
      const ended = this.waitForEvent(
        "MIGRATION",
        (event) => TERMINAL_MIGRATION.has(event.data.status),
        inner,
      );
      let info = await this.queryMigration(inner);
      if (!TERMINAL_MIGRATION.has(info.status)) {
        const capabilities = await this.execute<{ capability: string; state: boolean }[]>(
          "query-migrate-capabilities",
          undefined,
          inner,
        );
        if (!capabilities.some((item) => item.capability === "events" && item.state))
          throw new MigrationError({
            status: info.status,
            message:
              "cannot follow this migration: the `events` migration capability is off (start it with migrate(), or set it with setMigrationCapabilities({ events: true }) first)",
          });
        await ended;
        info = await this.queryMigration(inner);
      }
      // QEMU announces `completed` a moment before it records the final times
      // (the source reports total-time 0 until then): read again until they are in.
      // Each read is a round trip through QEMU's main loop; no sleeping.
      for (
        let attempt = 0;
        info.status === "completed" && info.raw["total-time"] === 0;
        attempt++
      ) {
        if (attempt === 100) break;
        info = await this.queryMigration(inner);
      }
      if (info.status === "completed") return info;
      throw new MigrationError({ status: info.status, errorDescription: info.errorDescription });
    });
  }

  async systemPowerdown(options?: CallOptions): Promise<void> {
    await this.execute("system_powerdown", undefined, options);
  }

  quit(options: CallOptions = {}): Promise<void> {
    return withDeadline("quit", options, DEFAULT_QUIT_TIMEOUT_MS, async (signal) => {
      if (this.#closeInfo || this.#phase === "closing")
        throw new QmpClosedError({ operation: "quit", cause: this.#closeInfo?.error });
      try {
        await this.#send("quit", undefined, signal, Number.POSITIVE_INFINITY);
      } catch (error) {
        // QEMU may close the socket before its reply is flushed: success, if QEMU closed it.
        // (#closeInfo was set while awaiting: TypeScript's narrowing cannot know.)
        const info = this.#closeInfo as QmpCloseInfo | undefined;
        if (!(error instanceof QmpClosedError) || info?.by !== "peer") throw error;
      }
      await this.closed;
    });
  }

  async deviceAdd(device: DeviceSpec, options?: CallOptions): Promise<void> {
    if (!device || typeof device.driver !== "string" || typeof device.id !== "string")
      throw new TypeError("device_add needs { driver, id, ...properties }");
    await this.execute("device_add", { ...device }, options);
  }

  deviceDel(id: string, options: CallOptions = {}): Promise<QmpEvent<"DEVICE_DELETED">> {
    if (typeof id !== "string" || id.length === 0)
      throw new TypeError("device_del needs a device id or QOM path");
    const path = id.startsWith("/") ? id : `/machine/peripheral/${id}`;
    return withDeadline(
      `device_del ${id}`,
      options,
      DEFAULT_DEVICE_DEL_TIMEOUT_MS,
      async (signal) => {
        const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
        // Armed first: a device QEMU removes at once (USB) reports it before the reply.
        const deleted = this.waitForEvent(
          "DEVICE_DELETED",
          (event) => event.data.device === id || event.data.path === path,
          inner,
        );
        await this.execute("device_del", { id }, inner);
        return deleted;
      },
      "a PCI device on an ACPI or PCIe hot-plug slot is removed only once the guest acknowledges the unplug",
    );
  }

  // -------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.#closeInfo) return;
    if (this.#phase !== "closing") {
      this.#phase = "closing";
      if (this.#pending.size > 0) {
        await new Promise<void>((resolve) => {
          this.#onIdle = resolve;
        });
      }
      this.#finalize("client", undefined);
    }
    await this.closed;
  }

  destroy(reason?: Error): void {
    this.#finalize(reason ? "error" : "client", reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #checkIdle(): void {
    if (this.#pending.size === 0 && this.#onIdle) {
      const idle = this.#onIdle;
      this.#onIdle = undefined;
      idle();
    }
  }

  readonly #onEnd = (): void => {
    this.#streamEnded("peer", undefined);
  };

  readonly #onClose = (): void => {
    this.#streamEnded("peer", undefined);
  };

  readonly #onError = (error: Error): void => {
    const code = (error as NodeJS.ErrnoException).code;
    // ECONNRESET/EPIPE: QEMU went away (e.g. killed while our commands were unread).
    this.#streamEnded(code === "ECONNRESET" || code === "EPIPE" ? "peer" : "error", error);
  };

  /** The stream is over; events already received are still delivered first. */
  #streamEnded(by: QmpCloseInfo["by"], error: Error | undefined): void {
    if (this.#deferred) {
      this.#endAfterDrain ??= { by, error };
      return;
    }
    this.#finalize(by, error);
  }

  #protocolError(message: string, line: string, cause?: unknown): void {
    this.#finalize("error", new QmpProtocolError(message, { line, cause }));
  }

  #finalize(by: QmpCloseInfo["by"], error: Error | undefined): void {
    if (this.#closeInfo) return;
    const info: QmpCloseInfo = error ? { by, error } : { by };
    this.#closeInfo = info;
    this.#phase = "closed";
    debug("qmp: closed by %s%s", by, error ? `: ${error.message}` : "");
    this.#stream.off("data", this.#onData);
    // Keep an error listener: a destroyed stream may still emit one.
    this.#stream.off("error", this.#onError);
    this.#stream.on("error", ignore);
    if (!this.#stream.destroyed) this.#stream.destroy();
    const greeting = this.#greeting;
    this.#greeting = undefined;
    greeting?.reject(new QmpClosedError({ operation: "QMP connect", cause: error }));
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) {
      call.disarm();
      call.reject(new QmpClosedError({ operation: call.command, cause: error }));
    }
    const sinks = [...this.#sinks];
    this.#sinks.clear();
    for (const sink of sinks) sink.end(info);
    this.#checkIdle(); // a close() waiting for in-flight commands may finish now
    this.#resolveClosed(info);
  }
}

function ignore(): void {}

function toMigrationInfo(raw: Record<string, unknown>): MigrationInfo {
  const number = (value: unknown) => (typeof value === "number" ? value : undefined);
  const info: MigrationInfo = {
    status: typeof raw.status === "string" ? raw.status : "none",
    raw,
  };
  const set = <K extends keyof MigrationInfo>(key: K, value: MigrationInfo[K] | undefined) => {
    if (value !== undefined) info[key] = value;
  };
  set("totalTimeMs", number(raw["total-time"]));
  set("expectedDowntimeMs", number(raw["expected-downtime"]));
  set("downtimeMs", number(raw.downtime));
  set("setupTimeMs", number(raw["setup-time"]));
  set("errorDescription", typeof raw["error-desc"] === "string" ? raw["error-desc"] : undefined);
  const ram = raw.ram as Record<string, unknown> | undefined;
  if (ram && typeof ram === "object") {
    info.ram = {
      transferred: number(ram.transferred) ?? 0,
      remaining: number(ram.remaining) ?? 0,
      total: number(ram.total) ?? 0,
      duplicatePages: number(ram.duplicate) ?? 0,
      normalPages: number(ram.normal) ?? 0,
      normalBytes: number(ram["normal-bytes"]) ?? 0,
      dirtySyncCount: number(ram["dirty-sync-count"]) ?? 0,
      pageSize: number(ram["page-size"]) ?? 0,
      mbps: number(ram.mbps) ?? 0,
      dirtyPagesRate: number(ram["dirty-pages-rate"]) ?? 0,
    };
  }
  return info;
}
