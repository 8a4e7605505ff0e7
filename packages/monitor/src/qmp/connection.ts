import type { Duplex } from "node:stream";
import {
  type CallOptions,
  type CloseInfo,
  checkCallOptions,
  checkObject,
  checkOptionKeys,
  encodeQapiRequest,
  InvalidArgumentError,
  LineReader,
  LineTooLongError,
  preview,
  StreamSession,
  withDeadline,
} from "@qemu-kvm/core";
import { debug, operations } from "../diagnostics.js";
import { QmpClosedError, QmpProtocolError } from "../errors.js";
import { checkBufferSize } from "../options.js";
import type { QmpVersion } from "../schema/names.js";
import { checkArguments } from "./arguments.js";
import { EventHub } from "./event-hub.js";
import type { QmpEventStream } from "./event-stream.js";
import type { RawEventFilter, RawQmpEvent } from "./events.js";
import { notJsonMessage, toEvent } from "./messages.js";
import { PendingCalls } from "./pending-calls.js";
import type { QmpSchema } from "./schema.js";
import { SchemaCache } from "./schema-cache.js";

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

/** What {@link QmpConnection} needs from `connectQmp`'s options, defaults resolved. */
export interface ConnectionSettings {
  commandTimeoutMs: number;
  eventBufferSize: number;
  maxLineBytes: number;
  /** Check each command against the connected QEMU's schema before sending it. */
  strict: boolean;
}

type Phase = "greeting" | "negotiating" | "ready";

const DEFAULT_QUIT_TIMEOUT_MS = 30_000;
const EVENTS_OPTION_KEYS = ["signal", "bufferSize"];

/**
 * The QMP protocol over one stream: greeting and negotiation, commands matched
 * to replies by id, events handed to the {@link EventHub}, and the connection's
 * lifecycle (a core `StreamSession`). The command helpers of `QmpClient` are
 * built on it.
 */
export class QmpConnection implements AsyncDisposable {
  protected readonly commandTimeoutMs: number;
  readonly #eventBufferSize: number;
  readonly #strict: boolean;
  readonly #schemas = new SchemaCache(
    () => this.#send("query-qmp-schema", undefined, undefined, Number.POSITIVE_INFINITY),
    () => `${this.#version.qemu.major}.${this.#version.qemu.minor}.${this.#version.qemu.micro}`,
  );
  readonly #session: StreamSession;
  readonly #reader: LineReader;
  readonly #pending = new PendingCalls();
  readonly #hub = new EventHub();
  #phase: Phase = "greeting";
  /** Line processing paused (see #onNegotiated). */
  #paused = false;
  #corked = false;
  #greeting: { resolve(): void; reject(error: unknown): void } | undefined;
  #version: QmpVersion = { qemu: { major: 0, minor: 0, micro: 0 }, package: "" };
  #capabilities: readonly string[] = [];

  constructor(stream: Duplex, settings: ConnectionSettings) {
    this.commandTimeoutMs = settings.commandTimeoutMs;
    this.#eventBufferSize = settings.eventBufferSize;
    this.#strict = settings.strict;
    this.#reader = new LineReader({ maxLineBytes: settings.maxLineBytes });
    this.#session = new StreamSession(
      stream,
      { data: (chunk) => this.#onData(chunk), ended: (info) => this.#ended(info) },
      { label: "qmp", debug },
    );
  }

  get version(): QmpVersion {
    return this.#version;
  }

  get capabilities(): readonly string[] {
    return this.#capabilities;
  }

  get closed(): Promise<CloseInfo> {
    return this.#session.closed;
  }

  get isClosed(): boolean {
    return this.#session.isClosed;
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

  executeUnchecked<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<T> {
    if (typeof command !== "string" || command.length === 0)
      throw new InvalidArgumentError("command", "a QMP command name (a non-empty string)", command);
    checkArguments(command, args);
    const { signal, timeoutMs } = checkCallOptions(options);
    if (this.#strict)
      return this.#schemas.checkThenSend(
        command,
        args,
        { signal, timeoutMs },
        this.commandTimeoutMs,
        (inner, ms) => this.#send<T>(command, args, inner, ms),
      );
    return this.#send(command, args, signal, timeoutMs ?? this.commandTimeoutMs);
  }

  /** The connected QEMU's schema, fetched on first need and kept (see {@link SchemaCache}). */
  schema(options?: CallOptions): Promise<QmpSchema> {
    return this.#schemas.get(checkCallOptions(options), this.commandTimeoutMs);
  }

  /**
   * `quit`, then waits until QEMU has closed the connection. QEMU may close it
   * before its reply is flushed: both orders are success.
   */
  quit(options?: CallOptions): Promise<void> {
    const checked = checkCallOptions(options);
    const settings = { defaultTimeoutMs: DEFAULT_QUIT_TIMEOUT_MS };
    return withDeadline("quit", checked, settings, async (signal) => {
      if (this.#session.isClosing)
        throw new QmpClosedError({ operation: "quit", cause: this.#session.closeInfo?.error });
      try {
        await this.#send("quit", undefined, signal, Number.POSITIVE_INFINITY);
      } catch (error) {
        if (!QmpClosedError.isInstance(error) || this.#session.closeInfo?.by !== "peer")
          throw error;
      }
      await this.closed;
    });
  }

  // ----------------------------------------------------------------- events

  subscribe(filter?: RawEventFilter, options?: EventsOptions): QmpEventStream<RawQmpEvent> {
    // Not a call's options: no `timeoutMs` (a subscription ends by its signal).
    if (options !== undefined) {
      checkObject(options, "options");
      checkOptionKeys(options, EVENTS_OPTION_KEYS);
      if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
        throw new InvalidArgumentError("options.signal", "an AbortSignal", options.signal);
    }
    const { signal, bufferSize } = options ?? {};
    checkBufferSize(bufferSize, "options.bufferSize");
    return this.#hub.stream(filter, bufferSize ?? this.#eventBufferSize, signal);
  }

  waitFor(
    name: string | readonly string[],
    predicate?: (event: RawQmpEvent) => boolean,
    options?: CallOptions,
  ): Promise<RawQmpEvent> {
    const { signal, timeoutMs } = checkCallOptions(options);
    return this.#hub.wait(name, predicate, signal, timeoutMs ?? Number.POSITIVE_INFINITY);
  }

  listen(filter: RawEventFilter | undefined, listener: (event: RawQmpEvent) => void): () => void {
    return this.#hub.listen(filter, listener);
  }

  // -------------------------------------------------------------- lifecycle

  /** Graceful: refuses new commands, waits for those in flight, then closes. */
  close(): Promise<void> {
    return this.#session.close(() => this.#pending.whenIdle());
  }

  destroy(reason?: Error): void {
    this.#session.destroy(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The session ended (called once by it): everything pending rejects. */
  #ended(info: CloseInfo): void {
    const cause = info.error;
    const greeting = this.#greeting;
    this.#greeting = undefined;
    greeting?.reject(new QmpClosedError({ operation: "QMP connect", cause }));
    this.#pending.rejectAll((command) => new QmpClosedError({ operation: command, cause }));
    this.#hub.end(info);
  }

  // --------------------------------------------------------------- commands

  #send<T>(
    command: string,
    args: Record<string, unknown> | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<T> {
    // One check when nobody listens (the common case: no closure for the trace).
    if (!operations.channel.hasSubscribers) return this.#request(command, args, signal, timeoutMs);
    return operations.trace("qmp", command, () => this.#request(command, args, signal, timeoutMs));
  }

  #request<T>(
    command: string,
    args: Record<string, unknown> | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<T> {
    if (this.#session.isClosing)
      return Promise.reject(
        new QmpClosedError({ operation: command, cause: this.#session.closeInfo?.error }),
      );
    return new Promise<T>((resolve, reject) => {
      const id = this.#pending.add(
        command,
        signal,
        timeoutMs,
        resolve as (v: unknown) => void,
        reject,
      );
      // Undefined: already aborted, or timeoutMs 0: rejected, and nothing is sent.
      if (id !== undefined) this.#write(encodeQapiRequest(command, args, id));
    });
  }

  #write(line: string): void {
    if (debug.enabled) debug("qmp -> %s", preview(line.trimEnd()));
    const stream = this.#session.stream;
    // Commands issued in the same tick leave in one write (writev): pipelining
    // 1,000 commands costs one syscall, not 1,000.
    if (!this.#corked) {
      this.#corked = true;
      stream.cork();
      process.nextTick(() => {
        this.#corked = false;
        stream.uncork();
      });
    }
    this.#session.write(line);
  }

  // ------------------------------------------------------------------ input

  #onData(chunk: Buffer): void {
    this.#reader.push(chunk);
    this.#drain();
  }

  #drain(): void {
    while (!this.#paused && !this.#session.isClosed) {
      let line: string | undefined;
      try {
        line = this.#reader.next();
      } catch (error) {
        this.#lineTooLong(error as LineTooLongError);
        return;
      }
      if (line === undefined) return;
      if (line.trim() === "") continue;
      if (debug.enabled) debug("qmp <- %s", preview(line));
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch (error) {
        this.#protocolError(notJsonMessage(line), line, error);
        return;
      }
      if (message === null || typeof message !== "object" || Array.isArray(message)) {
        this.#protocolError("QEMU sent a JSON value that is not an object", line);
        return;
      }
      this.#handle(message as Record<string, unknown>, line);
    }
  }

  #lineTooLong(error: LineTooLongError): void {
    if (!LineTooLongError.isInstance(error)) throw error;
    this.#protocolError(
      `QEMU sent a line longer than ${error.maxLineBytes} bytes (maxLineBytes)`,
      error.start,
      error,
    );
  }

  #protocolError(message: string, line: string, cause?: unknown): void {
    this.#session.finish("error", new QmpProtocolError(message, { line, cause }));
  }

  #handle(message: Record<string, unknown>, line: string): void {
    if (typeof message.event === "string") {
      if (this.#phase === "ready") this.#hub.dispatch(toEvent(message));
      else debug("qmp: %s before negotiation dropped", message.event);
    } else if ("return" in message || "error" in message) {
      this.#reply(message, line);
    } else if ("QMP" in message) {
      this.#onGreeting(message.QMP, line);
    } else {
      debug("qmp: unknown message dropped: %s", preview(line));
    }
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
   * so the caller's continuation can subscribe before any event is dispatched;
   * the session holds back a peer's end meanwhile, so those events are not lost.
   * (What arrives in that one turn of the event loop is bounded by one batch of
   * socket reads.)
   */
  #onNegotiated(): void {
    if (this.#session.isClosed) return;
    this.#phase = "ready";
    this.#paused = true;
    this.#session.hold();
    setImmediate(() => {
      this.#paused = false;
      this.#drain();
      this.#session.release();
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
    const command = this.#pending.settle(message);
    if (command === undefined)
      debug("qmp: reply for unknown id %j dropped (a command that timed out or was aborted?)", id);
    else if (command === "qmp_capabilities" && this.#phase === "negotiating" && "return" in message)
      this.#onNegotiated();
  }
}
