import { randomInt } from "node:crypto";
import type { Duplex } from "node:stream";
import type {
  ChannelCloseInfo,
  CommandResult,
  ControlChannel,
  NetworkInterface,
  RunOptions,
  WaitForNetworkOptions,
} from "./control-channel.js";
import { arm, type CallOptions, checkTimeout, pause, withDeadline } from "./deadline.js";
import { debug, preview } from "./debug.js";
import {
  ControlAbortError,
  GuestAgentClosedError,
  GuestAgentCommandError,
  GuestAgentProtocolError,
} from "./errors.js";
import { pollNetwork } from "./poll-network.js";

export interface ConnectGuestAgentOptions extends CallOptions {
  /**
   * Deadline for the first synchronization. The agent may not be running yet
   * (the guest is booting): the request waits in QEMU until it is, and is sent
   * again every 5 s. Default 60_000.
   */
  timeoutMs?: number;
  /** Default deadline of each call that does not pass its own. Default 60_000; `Infinity` = none. */
  commandTimeoutMs?: number;
  /** Bytes per `guest-file-read`/`guest-file-write` in `readFile`/`writeFile`. Default 256 KiB (the agent allows 48 MB; larger chunks measured no faster). */
  fileChunkBytes?: number;
  /** Longest pause between two `guest-exec-status` polls (they start at 2 ms and double). Default 100. */
  execPollIntervalMs?: number;
}

export interface ExecOptions extends CallOptions {
  /** `NAME=value` strings; the agent's own environment is replaced only if you pass one. */
  env?: readonly string[];
  /** Written to the process's stdin (then closed). Without it stdin is the agent's (usually /dev/null). */
  input?: string | Uint8Array;
  /**
   * On timeout or abort, SIGKILL the process and its descendants (found
   * through `/proc/PID/task/*\/children`) with a second `guest-exec`, then
   * collect its status so the agent forgets it. Default true. qemu-ga 7.2 has
   * no command to kill what `guest-exec` started.
   */
  killOnTimeout?: boolean;
}

export interface ExecResult {
  /** Exit code of a normal exit; null when killed by a signal. */
  exitCode: number | null;
  /** The signal that killed it; null after a normal exit. */
  signal: number | null;
  stdout: Buffer;
  stderr: Buffer;
  /** The agent keeps at most 16 MiB of each stream; true when it dropped the rest. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** The guest's pid of the process. */
  pid: number;
  durationMs: number;
}

export interface GuestOsInfo {
  kernelRelease?: string;
  kernelVersion?: string;
  machine?: string;
  id?: string;
  name?: string;
  prettyName?: string;
  version?: string;
  versionId?: string;
  variant?: string;
  variantId?: string;
}

export interface GuestAgentInfo {
  version: string;
  commands: Array<{ name: string; enabled: boolean; successResponse: boolean }>;
}

export type ShutdownMode = "powerdown" | "halt" | "reboot";

/** A QEMU guest agent (qemu-ga) connection. Create it with {@link connectGuestAgent}. */
export interface GuestAgentClient extends ControlChannel {
  readonly kind: "guest-agent";
  /**
   * Sends one agent command and resolves with its `return` value. Commands go
   * on the wire one at a time, in call order (the agent works serially and its
   * replies are matched by id). Rejects with `ERR_QGA_COMMAND`, `ERR_QGA_CLOSED`,
   * `ERR_QGA_PROTOCOL`, `ERR_TIMEOUT`, `ERR_ABORTED`.
   */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<T>;
  /** `guest-sync-delimited` preceded by a 0xFF flush: stale replies and half-read input are discarded. */
  sync(options?: CallOptions): Promise<void>;
  /** `guest-ping`. */
  ping(options?: CallOptions): Promise<void>;
  /** Synchronizes (if needed) and pings. */
  ready(options?: CallOptions): Promise<void>;
  /** `guest-info`: the agent's version and commands. */
  info(options?: CallOptions): Promise<GuestAgentInfo>;
  /**
   * `guest-exec` of `path` with `args` (no shell), stdout and stderr captured,
   * then `guest-exec-status` polled with back-off until it exits. Default
   * deadline `commandTimeoutMs`; see `killOnTimeout`.
   */
  exec(path: string, args?: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** `exec("/bin/sh", ["-c", command])` with stderr into stdout (`output`, in order). Each run is a fresh shell in `/`. */
  run(command: string, options?: RunOptions): Promise<CommandResult>;
  /** The whole file, read in `fileChunkBytes` pieces (open, read…, close). */
  readFile(path: string, options?: CallOptions): Promise<Buffer>;
  /** Writes `data` in `fileChunkBytes` pieces (open `w`, or `a` with `append`, write…, close). */
  writeFile(
    path: string,
    data: string | Uint8Array,
    options?: CallOptions & { append?: boolean },
  ): Promise<void>;
  /** `guest-file-open` (`mode` as fopen(), default `r`): a handle. */
  openFile(path: string, mode?: string, options?: CallOptions): Promise<number>;
  /** `guest-file-read` of at most `count` bytes (default `fileChunkBytes`). */
  readFileChunk(
    handle: number,
    count?: number,
    options?: CallOptions,
  ): Promise<{ data: Buffer; eof: boolean }>;
  /** `guest-file-write`: the bytes written. */
  writeFileChunk(handle: number, data: Uint8Array, options?: CallOptions): Promise<number>;
  /** `guest-file-close`. */
  closeFile(handle: number, options?: CallOptions): Promise<void>;
  /** `guest-network-get-interfaces`. */
  networkInterfaces(options?: CallOptions): Promise<NetworkInterface[]>;
  /** `guest-get-osinfo` (os-release fields are missing when the guest has no /etc/os-release). */
  osInfo(options?: CallOptions): Promise<GuestOsInfo>;
  /**
   * `guest-shutdown`. The agent answers only on failure, so this resolves once
   * the agent has taken the request: it answered the sync sent right after it
   * without an error, or the channel closed. Rejects with `ERR_QGA_COMMAND` if
   * the agent could not run the shutdown. Await `closed` for QEMU's exit.
   */
  shutdown(mode?: ShutdownMode, options?: CallOptions): Promise<void>;
  /** `shutdown("powerdown")`. */
  powerdown(options?: CallOptions): Promise<void>;
  /** `shutdown("reboot")`: the channel stays open; the agent answers again once the guest is back. */
  reboot(options?: CallOptions): Promise<void>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const DEFAULT_FILE_CHUNK_BYTES = 256 * 1024;
/** qemu-ga refuses reads over 48 MB; writes travel as base64 JSON strings under its 64 MiB token limit. */
const MAX_FILE_CHUNK_BYTES = 32 * 1024 * 1024;
const DEFAULT_EXEC_POLL_MS = 100;
/** While the first sync waits for the agent, send it again this often. */
const SYNC_RESEND_MS = 5_000;
/** No reply after this long: check with a sync whether the request was lost. */
const PROBE_AFTER_MS = 2_000;
const DELIMITER = 0xff;

/**
 * Connects a guest agent client over `stream` (QEMU's socket chardev for the
 * `org.qemu.guest_agent.0` virtio-serial port, or any duplex carrying it) and
 * resolves once the agent answered `guest-sync-delimited`. If that fails, the
 * stream is destroyed; invalid options throw a `TypeError` at once and leave the
 * stream to the caller.
 */
export async function connectGuestAgent(
  stream: Duplex,
  options: ConnectGuestAgentOptions = {},
): Promise<GuestAgentClient> {
  checkTimeout(options.timeoutMs);
  checkTimeout(options.commandTimeoutMs, "commandTimeoutMs");
  checkTimeout(options.execPollIntervalMs, "execPollIntervalMs");
  const chunk = options.fileChunkBytes ?? DEFAULT_FILE_CHUNK_BYTES;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > MAX_FILE_CHUNK_BYTES)
    throw new TypeError(
      `fileChunkBytes must be an integer in 1…${MAX_FILE_CHUNK_BYTES}, got ${options.fileChunkBytes}`,
    );
  const client = new DefaultGuestAgentClient(stream, {
    commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    fileChunkBytes: chunk,
    execPollIntervalMs: options.execPollIntervalMs ?? DEFAULT_EXEC_POLL_MS,
  });
  try {
    await withDeadline("guest agent connect", options, DEFAULT_CONNECT_TIMEOUT_MS, (signal) =>
      client.connectSync(signal),
    );
  } catch (error) {
    client.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  return client;
}

interface Job {
  command: string;
  line: string;
  id: number;
  /** False for commands that answer only on failure (guest-shutdown). */
  expectsReply: boolean;
  state: "queued" | "active" | "settled";
  resolve(value: unknown): void;
  reject(error: unknown): void;
  disarm(): void;
  /** Set while active: the reply (or error reply) for this job arrived. */
  onReply?: (message: Reply) => void;
  /** Set while active: the caller gave up. */
  onAbandon?: () => void;
}

interface Reply {
  return?: unknown;
  error?: { class?: string; desc?: string };
  id?: unknown;
}

interface SyncState {
  id: number;
  /** A 0xFF came after the request was written: the next line may be the answer. */
  delimiterSeen: boolean;
  done(): void;
}

class DefaultGuestAgentClient implements GuestAgentClient {
  readonly kind = "guest-agent" as const;
  readonly #stream: Duplex;
  readonly #commandTimeoutMs: number;
  readonly #fileChunkBytes: number;
  readonly #execPollIntervalMs: number;
  readonly #queue: Job[] = [];
  #working = false;
  #active: Job | undefined;
  /** Before the next command: flush and synchronize (at start, after a timeout or stray data). */
  #needSync = true;
  #sync: SyncState | undefined;
  /** Ids of requests given up: their late replies are dropped quietly. */
  readonly #abandoned = new Set<number>();
  /** A reply that matched nothing arrived while a command was active. */
  #strayWhileActive: (() => void) | undefined;
  #nextId = randomInt(1, 2 ** 31);
  #partial: Buffer[] = [];
  #closing = false;
  #closeInfo: ChannelCloseInfo | undefined;
  #onIdle: (() => void) | undefined;
  readonly closed: Promise<ChannelCloseInfo>;
  #resolveClosed!: (info: ChannelCloseInfo) => void;
  readonly #closeListeners = new Set<(info: ChannelCloseInfo) => void>();

  constructor(
    stream: Duplex,
    options: { commandTimeoutMs: number; fileChunkBytes: number; execPollIntervalMs: number },
  ) {
    this.#stream = stream;
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#fileChunkBytes = options.fileChunkBytes;
    this.#execPollIntervalMs = options.execPollIntervalMs;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    stream.on("data", this.#onData);
    stream.on("end", this.#onEnd);
    stream.on("close", this.#onEnd);
    stream.on("error", this.#onError);
    if (stream.destroyed || stream.readableEnded)
      queueMicrotask(() => this.#finalize("peer", new Error("the stream was already closed")));
  }

  get isClosed(): boolean {
    return this.#closeInfo !== undefined;
  }

  // ------------------------------------------------------------------ input

  readonly #onData = (chunk: Buffer | string): void => {
    let bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    for (;;) {
      const delimiter = bytes.indexOf(DELIMITER);
      const part = delimiter === -1 ? bytes : bytes.subarray(0, delimiter);
      this.#pushBytes(part);
      if (delimiter === -1) return;
      // 0xFF never occurs in the agent's JSON: it is the sync delimiter. What came
      // before it on the line is stale; what follows is the answer to a sync.
      if (this.#partial.length > 0) {
        debug("qga: stale partial line dropped at the delimiter");
        this.#partial = [];
      }
      if (this.#sync) this.#sync.delimiterSeen = true;
      bytes = bytes.subarray(delimiter + 1);
    }
  };

  #pushBytes(bytes: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = bytes.indexOf(10, start);
      if (newline === -1) {
        if (start < bytes.length) this.#partial.push(bytes.subarray(start));
        return;
      }
      this.#partial.push(bytes.subarray(start, newline));
      const line = Buffer.concat(this.#partial).toString("utf8");
      this.#partial = [];
      start = newline + 1;
      if (line.trim().length > 0) this.#onLine(line);
    }
  }

  #onLine(line: string): void {
    let message: Reply | undefined;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
        message = parsed as Reply;
    } catch {
      // not JSON: stray
    }
    if (debug.enabled) debug("qga <- %s", preview(line));
    const sync = this.#sync;
    if (message && sync?.delimiterSeen && message.id === undefined && "return" in message) {
      if (message.return === sync.id) {
        this.#sync = undefined;
        sync.done();
      }
      // An older sync's answer (we sent it again since): not ours any more.
      return;
    }
    const job = this.#active;
    if (message && job && message.id === job.id) {
      job.onReply?.(message);
      return;
    }
    if (message && typeof message.id === "number" && this.#abandoned.has(message.id)) {
      this.#abandoned.delete(message.id);
      debug("qga: late reply to an abandoned request dropped");
      return;
    }
    // Not an answer to anything we asked: an error for garbage someone wrote, a
    // stale reply from before we connected… Synchronize before trusting the stream.
    if (!sync) {
      debug("qga: stray line %s", preview(line, 200));
      this.#needSync = true;
      this.#strayWhileActive?.();
    }
  }

  readonly #onEnd = (): void => {
    this.#finalize("peer", undefined);
  };

  readonly #onError = (error: Error): void => {
    const code = (error as NodeJS.ErrnoException).code;
    this.#finalize(code === "ECONNRESET" || code === "EPIPE" ? "peer" : "error", error);
  };

  // ----------------------------------------------------------------- output

  #write(data: string | Buffer): Promise<void> {
    if (this.#closeInfo || this.#stream.destroyed)
      return Promise.reject(new GuestAgentClosedError({ cause: this.#closeInfo?.error }));
    if (debug.enabled)
      debug("qga -> %s", preview(typeof data === "string" ? data : data.toString("latin1")));
    return new Promise((resolve, reject) => {
      this.#stream.write(data, (error) => {
        if (error) reject(new GuestAgentClosedError({ cause: error }));
        else resolve();
      });
    });
  }

  // ---------------------------------------------------------------- syncing

  /**
   * 0xFF (the agent drops whatever it had half read) then `guest-sync-delimited`
   * with a random id; resolves when the answer with that id follows a 0xFF.
   * Everything before it is stale and dropped (except the active command's
   * own reply). With `resendMs`, sends a fresh sync if none came back in time.
   */
  async #synchronize(signal: AbortSignal, resendMs?: number): Promise<void> {
    for (;;) {
      const id = randomInt(1, 2 ** 48);
      const answered = new Promise<void>((resolve) => {
        this.#sync = { id, delimiterSeen: false, done: resolve };
      });
      const request = JSON.stringify({ execute: "guest-sync-delimited", arguments: { id } });
      await this.#write(Buffer.concat([Buffer.from([DELIMITER]), Buffer.from(`${request}\n`)]));
      let resend: NodeJS.Timeout | undefined;
      try {
        const outcomes: Array<Promise<"answered" | "resend">> = [
          answered.then(() => "answered" as const),
        ];
        if (resendMs !== undefined)
          outcomes.push(
            new Promise((resolve) => {
              // Without keeping the process alive.
              resend = setTimeout(() => resolve("resend"), resendMs).unref();
            }),
          );
        const outcome = await this.#until(Promise.race(outcomes), signal, "guest-sync-delimited");
        if (outcome === "answered") {
          this.#needSync = false;
          debug("qga: in sync (id %d)", id);
          return;
        }
      } finally {
        clearTimeout(resend);
      }
      debug("qga: no answer to sync %d yet, sending another", id);
    }
  }

  /** `promise`, or a rejection when `signal` aborts or the channel closes first. Leaves no listener behind. */
  #until<T>(promise: Promise<T>, signal: AbortSignal, operation: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        signal.removeEventListener("abort", onAbort);
        this.#closeListeners.delete(onClose);
      };
      const onAbort = () => {
        cleanup();
        reject(signal.reason);
      };
      const onClose = (info: ChannelCloseInfo) => {
        cleanup();
        reject(new GuestAgentClosedError({ operation, cause: info.error }));
      };
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      if (this.#closeInfo) {
        reject(new GuestAgentClosedError({ operation, cause: this.#closeInfo.error }));
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      this.#closeListeners.add(onClose);
      promise.then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
  }

  /** Used once by connectGuestAgent. */
  async connectSync(signal: AbortSignal): Promise<void> {
    await this.#synchronize(signal, SYNC_RESEND_MS);
  }

  // --------------------------------------------------------------- commands

  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<T> {
    if (typeof command !== "string" || command.length === 0)
      throw new TypeError("a guest agent command is a non-empty string");
    if (command === "guest-sync-delimited" || command === "guest-sync")
      throw new TypeError(`use sync() rather than ${command}`);
    if (args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args)))
      throw new TypeError("guest agent arguments are an object");
    checkTimeout(options.timeoutMs);
    return this.#enqueue(command, args, options, true) as Promise<T>;
  }

  #enqueue(
    command: string,
    args: Record<string, unknown> | undefined,
    options: CallOptions,
    expectsReply: boolean,
  ): Promise<unknown> {
    if (this.#closeInfo || this.#closing)
      return Promise.reject(
        new GuestAgentClosedError({ operation: command, cause: this.#closeInfo?.error }),
      );
    if (options.signal?.aborted)
      return Promise.reject(
        new ControlAbortError({ operation: command, cause: options.signal.reason }),
      );
    const id = this.#nextId++;
    const line = `${JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id })}\n`;
    return new Promise((resolve, reject) => {
      const job: Job = {
        command,
        line,
        id,
        expectsReply,
        state: "queued",
        resolve: (value) => {
          if (job.state === "settled") return;
          job.state = "settled";
          job.disarm();
          resolve(value);
        },
        reject: (error) => {
          if (job.state === "settled") return;
          job.state = "settled";
          job.disarm();
          reject(error);
        },
        disarm: () => {},
      };
      job.disarm = arm(
        `guest agent ${command}`,
        options.signal,
        options.timeoutMs ?? this.#commandTimeoutMs,
        (error) => {
          if (job.state === "queued") {
            const index = this.#queue.indexOf(job);
            if (index >= 0) this.#queue.splice(index, 1);
          } else if (job.state === "active") {
            // On the wire: its reply may still come. Drop it when it does, and resynchronize.
            this.#abandon(job.id);
            this.#needSync = true;
            job.onAbandon?.();
          }
          job.reject(error);
        },
      );
      if (job.state === "settled") return; // aborted synchronously
      this.#queue.push(job);
      void this.#work();
    });
  }

  #abandon(id: number): void {
    this.#abandoned.add(id);
    if (this.#abandoned.size > 256) {
      const oldest = this.#abandoned.values().next().value;
      if (oldest !== undefined) this.#abandoned.delete(oldest);
    }
  }

  /** The worker: one command on the wire at a time, in order. */
  async #work(): Promise<void> {
    if (this.#working) return;
    this.#working = true;
    try {
      for (;;) {
        const job = this.#queue.shift();
        if (!job) break;
        if (job.state !== "queued") continue;
        job.state = "active";
        this.#active = job;
        try {
          job.resolve(await this.#exchange(job));
        } catch (error) {
          job.reject(error);
        } finally {
          this.#active = undefined;
          job.onReply = undefined;
          job.onAbandon = undefined;
        }
        if (this.#closeInfo) break;
      }
    } finally {
      this.#working = false;
      if (this.#queue.length === 0) {
        const idle = this.#onIdle;
        this.#onIdle = undefined;
        idle?.();
      } else if (!this.#closeInfo) {
        void this.#work();
      }
    }
  }

  /** Sends `job` (after a sync if one is due) and waits for its answer. */
  async #exchange(job: Job): Promise<unknown> {
    const abandoned = new AbortController();
    job.onAbandon = () => abandoned.abort(new Error("abandoned"));
    const signal = abandoned.signal;
    if (this.#needSync) await this.#synchronize(signal);
    for (let attempt = 1; ; attempt++) {
      let reply: Reply | undefined;
      const replied = new Promise<void>((resolve) => {
        job.onReply = (message) => {
          reply = message;
          resolve();
        };
      });
      const stray = new Promise<void>((resolve) => {
        this.#strayWhileActive = resolve;
      });
      let probe: NodeJS.Timeout | undefined;
      try {
        await this.#write(job.line);
        if (!job.expectsReply) {
          // Success sends nothing: the agent taking the next request without an error
          // report in between is the success. The channel closing counts too.
          const synced = this.#synchronize(signal);
          synced.catch(() => {}); // if the error reply wins, the sync goes on unobserved
          await Promise.race([synced, replied]);
          return reply ? unwrap(job.command, reply) : undefined;
        }
        const quiet = new Promise<"quiet">((resolve) => {
          probe = setTimeout(() => resolve("quiet"), PROBE_AFTER_MS);
        });
        const first = await this.#until(
          Promise.race([
            replied.then(() => "reply" as const),
            stray.then(() => "stray" as const),
            quiet,
          ]),
          signal,
          job.command,
        );
        if (reply) return unwrap(job.command, reply);
        debug(
          "qga: %s: %s, checking with a sync",
          job.command,
          first === "quiet" ? "no reply yet" : "stray data",
        );
        // Something else answered, or nothing did for a while: garbage ahead of our
        // request may have swallowed it (an unclosed `{` makes the agent wait for
        // more). A 0xFF and a sync tell, since the agent answers in order: a busy
        // agent answers us first; a lost request has no answer before the sync's.
        await this.#synchronize(signal);
        if (reply) return unwrap(job.command, reply);
        if (attempt >= 2)
          throw new GuestAgentProtocolError(
            `${job.command} was lost twice before the agent read it (garbage on the channel ahead of it): is the channel shared?`,
          );
        debug("qga: %s was lost (no reply before the sync): sending it again", job.command);
      } finally {
        clearTimeout(probe);
        this.#strayWhileActive = undefined;
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  sync(options: CallOptions = {}): Promise<void> {
    return withDeadline("guest agent sync", options, this.#commandTimeoutMs, async (signal) => {
      this.#needSync = true;
      await this.#enqueueSyncOnly(signal);
    });
  }

  /** A no-op job that makes the worker synchronize in order. */
  async #enqueueSyncOnly(signal: AbortSignal): Promise<void> {
    // guest-ping is harmless and proves the agent answers after the sync.
    await this.#enqueue(
      "guest-ping",
      undefined,
      { signal, timeoutMs: Number.POSITIVE_INFINITY },
      true,
    );
  }

  async ping(options: CallOptions = {}): Promise<void> {
    await this.execute("guest-ping", undefined, options);
  }

  ready(options: CallOptions = {}): Promise<void> {
    return this.ping(options);
  }

  async info(options: CallOptions = {}): Promise<GuestAgentInfo> {
    const reply = await this.execute<{
      version: string;
      supported_commands: Array<{ name: string; enabled: boolean; "success-response": boolean }>;
    }>("guest-info", undefined, options);
    return {
      version: reply.version,
      commands: reply.supported_commands.map((command) => ({
        name: command.name,
        enabled: command.enabled,
        successResponse: command["success-response"],
      })),
    };
  }

  exec(path: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    if (typeof path !== "string" || path.length === 0)
      throw new TypeError("path must be a non-empty string");
    if (!Array.isArray(args) || args.some((arg) => typeof arg !== "string"))
      throw new TypeError("args must be an array of strings");
    if (options.env?.some((item) => typeof item !== "string" || !item.includes("=")))
      throw new TypeError("env entries are NAME=value strings");
    const input =
      options.input === undefined
        ? undefined
        : Buffer.from(
            typeof options.input === "string" ? Buffer.from(options.input, "utf8") : options.input,
          );
    const request: Record<string, unknown> = { path, arg: [...args], "capture-output": true };
    if (options.env) request.env = [...options.env];
    if (input) request["input-data"] = input.toString("base64");
    return withDeadline(`guest exec ${path}`, options, this.#commandTimeoutMs, async (signal) => {
      const started = performance.now();
      const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
      const { pid } = await this.execute<{ pid: number }>("guest-exec", request, inner);
      try {
        let delayMs = 2;
        for (;;) {
          const status = await this.execute<ExecStatus>("guest-exec-status", { pid }, inner);
          if (status.exited) {
            return {
              exitCode: status.exitcode ?? null,
              signal: status.signal ?? null,
              stdout: Buffer.from(status["out-data"] ?? "", "base64"),
              stderr: Buffer.from(status["err-data"] ?? "", "base64"),
              stdoutTruncated: status["out-truncated"] ?? false,
              stderrTruncated: status["err-truncated"] ?? false,
              pid,
              durationMs: performance.now() - started,
            };
          }
          await pause(delayMs, signal);
          delayMs = Math.min(delayMs * 2, this.#execPollIntervalMs);
        }
      } catch (error) {
        if (signal.aborted && options.killOnTimeout !== false && !this.#closeInfo)
          this.#killAndReap(pid);
        throw error;
      }
    });
  }

  /** In the background: SIGKILL `pid`'s process tree, then collect its status. */
  #killAndReap(pid: number): void {
    const script =
      "k() { kill -STOP $1 2>/dev/null; for c in $(cat /proc/$1/task/*/children 2>/dev/null); do k $c; done; kill -KILL $1 2>/dev/null; }; k " +
      String(pid);
    const options = { timeoutMs: 10_000 };
    void (async () => {
      const killer = await this.execute<{ pid: number }>(
        "guest-exec",
        { path: "/bin/sh", arg: ["-c", script], "capture-output": false },
        options,
      );
      const signal = AbortSignal.timeout(10_000);
      for (const target of [killer.pid, pid]) {
        for (let delayMs = 5; ; delayMs = Math.min(delayMs * 2, 200)) {
          const status = await this.execute<ExecStatus>(
            "guest-exec-status",
            { pid: target },
            options,
          );
          if (status.exited) break;
          await pause(delayMs, signal);
        }
      }
      debug("qga: killed and reaped guest pid %d", pid);
    })().catch((error: unknown) => {
      debug("qga: could not kill guest pid %d: %s", pid, (error as Error).message);
    });
  }

  async run(command: string, options: RunOptions = {}): Promise<CommandResult> {
    if (typeof command !== "string") throw new TypeError("command must be a string");
    if (command.includes("\0")) throw new TypeError("a command must not contain NUL");
    const result = await this.exec("/bin/sh", ["-c", `exec 2>&1\n${command}`], options);
    return {
      exitCode: result.signal !== null ? 128 + result.signal : (result.exitCode ?? -1),
      signal: result.signal ?? undefined,
      output: result.stdout.toString("utf8"),
      outputBytes: result.stdout,
      outputTruncated: result.stdoutTruncated,
      durationMs: result.durationMs,
    };
  }

  openFile(path: string, mode = "r", options: CallOptions = {}): Promise<number> {
    if (typeof path !== "string" || path.length === 0)
      throw new TypeError("path must be a non-empty string");
    return this.execute<number>("guest-file-open", { path, mode }, options);
  }

  async readFileChunk(
    handle: number,
    count = this.#fileChunkBytes,
    options: CallOptions = {},
  ): Promise<{ data: Buffer; eof: boolean }> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_FILE_CHUNK_BYTES)
      throw new TypeError(`count must be an integer in 1…${MAX_FILE_CHUNK_BYTES}`);
    const reply = await this.execute<{ count: number; "buf-b64": string; eof: boolean }>(
      "guest-file-read",
      { handle, count },
      options,
    );
    const data = Buffer.from(reply["buf-b64"], "base64");
    if (data.length !== reply.count)
      throw new GuestAgentProtocolError(
        `guest-file-read announced ${reply.count} bytes but sent ${data.length}`,
      );
    return { data, eof: reply.eof };
  }

  async writeFileChunk(
    handle: number,
    data: Uint8Array,
    options: CallOptions = {},
  ): Promise<number> {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const reply = await this.execute<{ count: number; eof: boolean }>(
      "guest-file-write",
      { handle, "buf-b64": bytes.toString("base64") },
      options,
    );
    return reply.count;
  }

  async closeFile(handle: number, options: CallOptions = {}): Promise<void> {
    await this.execute("guest-file-close", { handle }, options);
  }

  readFile(path: string, options: CallOptions = {}): Promise<Buffer> {
    return withDeadline(
      `guest readFile ${path}`,
      options,
      this.#commandTimeoutMs,
      async (signal) => {
        const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
        const handle = await this.openFile(path, "r", inner);
        try {
          const chunks: Buffer[] = [];
          for (;;) {
            const { data, eof } = await this.readFileChunk(handle, this.#fileChunkBytes, inner);
            chunks.push(data);
            if (eof || data.length === 0) break;
          }
          return Buffer.concat(chunks);
        } finally {
          this.#closeQuietly(handle);
        }
      },
    );
  }

  writeFile(
    path: string,
    data: string | Uint8Array,
    options: CallOptions & { append?: boolean } = {},
  ): Promise<void> {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data);
    return withDeadline(
      `guest writeFile ${path}`,
      options,
      this.#commandTimeoutMs,
      async (signal) => {
        const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
        const handle = await this.openFile(path, options.append ? "a" : "w", inner);
        let closed = false;
        try {
          for (let offset = 0; offset < bytes.length; ) {
            const piece = bytes.subarray(offset, offset + this.#fileChunkBytes);
            const written = await this.writeFileChunk(handle, piece, inner);
            if (written <= 0)
              throw new GuestAgentProtocolError(
                `guest-file-write wrote ${written} bytes of ${piece.length}`,
              );
            offset += written;
          }
          // Closing flushes: a failure here (disk full) is the write's failure.
          closed = true;
          await this.closeFile(handle, inner);
        } finally {
          if (!closed) this.#closeQuietly(handle);
        }
      },
    );
  }

  /** Closes a handle in the background (after a failure): the agent has a limited number. */
  #closeQuietly(handle: number): void {
    if (this.#closeInfo || this.#closing) return;
    this.closeFile(handle, { timeoutMs: 10_000 }).catch((error: unknown) => {
      debug("qga: closing handle %d failed: %s", handle, (error as Error).message);
    });
  }

  async networkInterfaces(options: CallOptions = {}): Promise<NetworkInterface[]> {
    const reply = await this.execute<
      Array<{
        name: string;
        "hardware-address"?: string;
        "ip-addresses"?: Array<{ "ip-address-type": string; "ip-address": string; prefix: number }>;
      }>
    >("guest-network-get-interfaces", undefined, options);
    return reply.map((item) => {
      const mac = item["hardware-address"]?.toLowerCase();
      return {
        name: item.name,
        macAddress: mac && !/^(00:){5}00$/.test(mac) ? mac : undefined,
        addresses: (item["ip-addresses"] ?? []).map((address) => ({
          family: address["ip-address-type"] === "ipv6" ? ("ipv6" as const) : ("ipv4" as const),
          address: address["ip-address"],
          prefixLength: address.prefix,
        })),
      };
    });
  }

  waitForNetwork(options: WaitForNetworkOptions = {}): Promise<NetworkInterface[]> {
    return pollNetwork(this, options, this.#commandTimeoutMs);
  }

  async osInfo(options: CallOptions = {}): Promise<GuestOsInfo> {
    const reply = await this.execute<Record<string, string>>(
      "guest-get-osinfo",
      undefined,
      options,
    );
    const info: GuestOsInfo = {};
    const fields: Array<[keyof GuestOsInfo, string]> = [
      ["kernelRelease", "kernel-release"],
      ["kernelVersion", "kernel-version"],
      ["machine", "machine"],
      ["id", "id"],
      ["name", "name"],
      ["prettyName", "pretty-name"],
      ["version", "version"],
      ["versionId", "version-id"],
      ["variant", "variant"],
      ["variantId", "variant-id"],
    ];
    for (const [key, field] of fields)
      if (typeof reply[field] === "string") info[key] = reply[field];
    return info;
  }

  async shutdown(mode: ShutdownMode = "powerdown", options: CallOptions = {}): Promise<void> {
    if (mode !== "powerdown" && mode !== "halt" && mode !== "reboot")
      throw new TypeError(
        `mode must be "powerdown", "halt" or "reboot", got ${JSON.stringify(mode)}`,
      );
    checkTimeout(options.timeoutMs);
    try {
      await this.#enqueue("guest-shutdown", { mode }, options, false);
    } catch (error) {
      // The guest going down closes the channel: that is what was asked for.
      if (error instanceof GuestAgentClosedError && this.#closeInfo?.by === "peer") return;
      throw error;
    }
  }

  powerdown(options: CallOptions = {}): Promise<void> {
    return this.shutdown("powerdown", options);
  }

  reboot(options: CallOptions = {}): Promise<void> {
    return this.shutdown("reboot", options);
  }

  // -------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.#closeInfo) return;
    if (!this.#closing) {
      this.#closing = true;
      if (this.#working || this.#queue.length > 0) {
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

  #finalize(by: ChannelCloseInfo["by"], error: Error | undefined): void {
    if (this.#closeInfo) return;
    const info: ChannelCloseInfo = error ? { by, error } : { by };
    this.#closeInfo = info;
    debug("qga: closed by %s%s", by, error ? `: ${error.message}` : "");
    this.#stream.off("data", this.#onData);
    this.#stream.off("error", this.#onError);
    this.#stream.on("error", () => {});
    if (!this.#stream.destroyed) this.#stream.destroy();
    for (const listener of [...this.#closeListeners]) listener(info);
    this.#closeListeners.clear();
    const queued = this.#queue.splice(0);
    for (const job of queued)
      job.reject(new GuestAgentClosedError({ operation: job.command, cause: error }));
    this.#resolveClosed(info);
    const idle = this.#onIdle;
    this.#onIdle = undefined;
    idle?.();
  }
}

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  "out-data"?: string;
  "err-data"?: string;
  "out-truncated"?: boolean;
  "err-truncated"?: boolean;
}

function unwrap(command: string, reply: Reply): unknown {
  if (reply.error !== undefined)
    throw new GuestAgentCommandError({
      command,
      errorClass: String(reply.error?.class ?? "GenericError"),
      description: String(reply.error?.desc ?? ""),
    });
  if (!("return" in reply))
    throw new GuestAgentProtocolError(`reply to ${command} has neither return nor error`, {
      received: JSON.stringify(reply),
    });
  return reply.return;
}
