import type { Duplex } from "node:stream";
import {
  armDeadline,
  type CallOptions,
  type CloseInfo,
  checkCallOptions,
  checkTimeoutMs,
  InvalidArgumentError,
  preview,
  StreamSession,
  stripTerminalEscapes,
  withDeadline,
} from "@qemu-kvm/core";
import { debug, operations } from "../diagnostics.js";
import { HmpClosedError, HmpProtocolError } from "../errors.js";
import { asError, checkByteLimit, DEFAULT_MAX_LINE_BYTES } from "../options.js";
import { PromptFramer } from "./prompt-framer.js";

export interface ConnectHmpOptions extends CallOptions {
  /** Deadline for the banner and first prompt. Default 30_000. */
  timeoutMs?: number;
  /** Default deadline of each command (time queued included). Default 60_000; `Infinity` = none. */
  commandTimeoutMs?: number;
  /**
   * The longest line QEMU may send, in bytes; a longer one destroys the
   * connection with `ERR_HMP_PROTOCOL` (`cause`: a `LineTooLongError`).
   * Default 16 MiB.
   */
  maxLineBytes?: number;
  /**
   * The most text one command may answer (HMP is framed by prompts, not lines:
   * this bounds what is kept until the prompt); more destroys the connection
   * with `ERR_HMP_PROTOCOL`. Default 64 MiB.
   */
  maxOutputBytes?: number;
}

/**
 * A client for QEMU's human monitor on a `-monitor unix:…,server=on,wait=off`
 * (or telnet/TCP) socket, for VMs this package did not start. Prefer QMP and
 * `QmpClient.hmp()` when you can: HMP text is for people and changes between
 * QEMU versions. Create it with {@link connectHmp}.
 */
export interface HmpClient extends AsyncDisposable {
  /** The banner, e.g. `QEMU 7.2.22 monitor - type 'help' for more information`. */
  readonly banner: string;
  /** QEMU's version, read from the banner (undefined if the banner has none). */
  readonly version: { major: number; minor: number; micro: number } | undefined;
  /** Settles (never rejects) when the connection is over. */
  readonly closed: Promise<CloseInfo>;
  readonly isClosed: boolean;
  /**
   * Runs one command line and resolves with its output: the echo (with its
   * readline escapes) and the prompt removed, `\n` line ends. Commands run one
   * at a time, in call order. HMP has no error channel: a failed command
   * resolves with QEMU's message (e.g. `Error: Device 'x' not found`).
   * A command that times out or is aborted after it was sent still runs: the
   * next command is sent only after its prompt came back.
   */
  command(commandLine: string, options?: CallOptions): Promise<string>;
  /** Sends `quit` and resolves once QEMU has closed the connection. Default deadline 30_000. */
  quit(options?: CallOptions): Promise<void>;
  /** Graceful: refuses new commands, lets queued ones finish, closes. */
  close(): Promise<void>;
  /** Abrupt: everything pending rejects with `ERR_HMP_CLOSED` (`cause`: `reason`). */
  destroy(reason?: Error): void;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const DEFAULT_QUIT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Without a prompt after this much text, the peer is not an HMP monitor. */
const MAX_BANNER_CHARS = 64 * 1024;
const CONNECT_OPTION_KEYS = [
  "signal",
  "timeoutMs",
  "commandTimeoutMs",
  "maxLineBytes",
  "maxOutputBytes",
];

interface HmpSettings {
  commandTimeoutMs: number;
  maxLineBytes: number;
  maxOutputBytes: number;
}

/**
 * Connects to QEMU's human monitor over `stream` and resolves after its banner
 * and first `(qemu) ` prompt. Invalid options throw `ERR_INVALID_ARGUMENT` at
 * once and leave the stream to the caller; on any other failure the stream is
 * destroyed.
 */
export function connectHmp(stream: Duplex, options?: ConnectHmpOptions): Promise<HmpClient> {
  const checked = checkCallOptions(options, CONNECT_OPTION_KEYS);
  checkTimeoutMs(checked.commandTimeoutMs, "options.commandTimeoutMs");
  checkByteLimit(checked.maxLineBytes, "options.maxLineBytes");
  checkByteLimit(checked.maxOutputBytes, "options.maxOutputBytes");
  const settings: HmpSettings = {
    commandTimeoutMs: checked.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxLineBytes: checked.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    maxOutputBytes: checked.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
  };
  const call = { signal: checked.signal, timeoutMs: checked.timeoutMs };
  return operations.trace("connect", "hmp", async () => {
    const client = new DefaultHmpClient(stream, settings);
    try {
      await withDeadline(
        "HMP connect",
        call,
        { defaultTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS },
        () => client.ready,
      );
    } catch (error) {
      client.destroy(asError(error));
      throw error;
    }
    return client;
  });
}

interface Job {
  commandLine: string;
  kind: "command" | "quit";
  state: "queued" | "sent" | "abandoned";
  resolve(output: string): void;
  reject(error: unknown): void;
  disarm(): void;
}

class DefaultHmpClient implements HmpClient {
  readonly #session: StreamSession;
  readonly #framer: PromptFramer;
  readonly #commandTimeoutMs: number;
  #banner = "";
  #greeted = false;
  readonly #queue: Job[] = [];
  #current: Job | undefined;
  #onIdle: (() => void) | undefined;
  readonly ready: Promise<void>;
  #ready!: { resolve(): void; reject(error: unknown): void };

  constructor(stream: Duplex, settings: HmpSettings) {
    this.#commandTimeoutMs = settings.commandTimeoutMs;
    this.#framer = new PromptFramer(settings);
    this.ready = new Promise((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    this.ready.catch(() => {});
    this.#session = new StreamSession(
      stream,
      { data: (chunk) => this.#onData(chunk), ended: (info) => this.#ended(info) },
      { label: "hmp", debug },
    );
  }

  get banner(): string {
    return this.#banner;
  }

  get version(): HmpClient["version"] {
    const match = /^QEMU (\d+)\.(\d+)\.(\d+)/.exec(this.#banner);
    return match
      ? { major: Number(match[1]), minor: Number(match[2]), micro: Number(match[3]) }
      : undefined;
  }

  get closed(): Promise<CloseInfo> {
    return this.#session.closed;
  }

  get isClosed(): boolean {
    return this.#session.isClosed;
  }

  command(commandLine: string, options?: CallOptions): Promise<string> {
    if (typeof commandLine !== "string" || commandLine.trim() === "")
      throw new InvalidArgumentError("commandLine", "an HMP command line", commandLine, {
        problem: "must be a non-empty string",
      });
    // A control character would drive readline (TAB completes, ESC starts a sequence,
    // CR/LF ends the line early) and desynchronise the prompt count.
    if (/[\x00-\x1f\x7f]/.test(commandLine))
      throw new InvalidArgumentError("commandLine", "an HMP command line", commandLine, {
        problem: "has a control character, which would drive QEMU's readline",
      });
    const { signal, timeoutMs } = checkCallOptions(options);
    return this.#enqueue("command", commandLine, signal, timeoutMs ?? this.#commandTimeoutMs);
  }

  quit(options?: CallOptions): Promise<void> {
    const checked = checkCallOptions(options);
    const settings = { defaultTimeoutMs: DEFAULT_QUIT_TIMEOUT_MS };
    return withDeadline("HMP quit", checked, settings, async (signal) => {
      await this.#enqueue("quit", "quit", signal, Number.POSITIVE_INFINITY);
    });
  }

  async close(): Promise<void> {
    await this.#session.close(() => this.#whenIdle());
  }

  destroy(reason?: Error): void {
    this.#session.destroy(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // --------------------------------------------------------------- commands

  #enqueue(
    kind: Job["kind"],
    commandLine: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<string> {
    const target = commandLine.trimStart().split(" ", 1)[0];
    return operations.trace("hmp", target, () => {
      if (this.#session.isClosing)
        return Promise.reject(
          new HmpClosedError({ operation: commandLine, cause: this.#session.closeInfo?.error }),
        );
      return new Promise<string>((resolve, reject) => {
        let stopped = false;
        const job: Job = { commandLine, kind, state: "queued", resolve, reject, disarm: noop };
        job.disarm = armDeadline(`HMP ${commandLine}`, signal, timeoutMs, (error) => {
          stopped = true;
          this.#giveUp(job);
          reject(error);
        });
        if (stopped) return; // already aborted, or timeoutMs 0: nothing queued or sent
        this.#queue.push(job);
        this.#pump();
      });
    });
  }

  /** A job's deadline passed or its signal aborted. */
  #giveUp(job: Job): void {
    if (job.state === "queued") {
      const index = this.#queue.indexOf(job);
      if (index >= 0) this.#queue.splice(index, 1);
    } else {
      // Sent: its output and prompt are still coming; skip them.
      job.state = "abandoned";
    }
    this.#checkIdle();
  }

  #pump(): void {
    if (!this.#greeted || this.#current || this.#session.isClosed) return;
    const job = this.#queue.shift();
    if (!job) {
      this.#checkIdle();
      return;
    }
    if (this.#framer.length > 0) {
      debug("hmp: unsolicited output dropped: %s", preview(this.#framer.start(300)));
      this.#framer.discard();
    }
    job.state = "sent";
    this.#current = job;
    debug("hmp -> %s", job.commandLine);
    this.#session.write(`${job.commandLine}\n`);
  }

  // ------------------------------------------------------------------ input

  #onData(chunk: Buffer): void {
    let answer: string | undefined;
    try {
      answer = this.#framer.push(chunk);
    } catch (error) {
      this.#session.finish("error", asError(error));
      return;
    }
    if (answer === undefined) {
      if (!this.#greeted) this.#checkBanner();
      return;
    }
    if (!this.#greeted) {
      this.#greeted = true;
      this.#banner = stripTerminalEscapes(answer).trim();
      debug("hmp: banner %s", this.#banner);
      this.#ready.resolve();
    } else {
      this.#answer(answer);
    }
    this.#pump();
  }

  #answer(raw: string): void {
    const job = this.#current;
    this.#current = undefined;
    if (!job) {
      debug("hmp: prompt with no command in flight: %s", preview(raw));
    } else if (job.state === "abandoned") {
      debug("hmp: output of abandoned %s dropped", job.commandLine);
    } else {
      job.disarm();
      const output = cleanOutput(raw);
      if (debug.enabled) debug("hmp <- %s", preview(output));
      job.resolve(output);
    }
  }

  #checkBanner(): void {
    const text = this.#framer.start();
    if (text.startsWith("{")) {
      this.#session.finish(
        "error",
        new HmpProtocolError("this is a QMP socket (-qmp), not the human monitor: use connectQmp", {
          received: text,
        }),
      );
    } else if (this.#framer.length > MAX_BANNER_CHARS) {
      this.#session.finish(
        "error",
        new HmpProtocolError("no (qemu) prompt: the peer is not QEMU's human monitor", {
          received: text,
        }),
      );
    }
  }

  // -------------------------------------------------------------- lifecycle

  #whenIdle(): Promise<void> | undefined {
    if (this.#isIdle()) return undefined;
    return new Promise<void>((resolve) => {
      this.#onIdle = resolve;
    });
  }

  #isIdle(): boolean {
    return this.#queue.length === 0 && (!this.#current || this.#current.state === "abandoned");
  }

  #checkIdle(): void {
    if (this.#onIdle && this.#isIdle()) {
      const idle = this.#onIdle;
      this.#onIdle = undefined;
      idle();
    }
  }

  /** The session ended (called once by it): everything pending settles. */
  #ended(info: CloseInfo): void {
    const { by, error } = info;
    this.#ready.reject(
      HmpProtocolError.isInstance(error)
        ? error
        : new HmpClosedError({ operation: "HMP connect", cause: error }),
    );
    const jobs = this.#current ? [this.#current, ...this.#queue] : [...this.#queue];
    this.#current = undefined;
    this.#queue.length = 0;
    for (const job of jobs) {
      if (job.state === "abandoned") continue;
      job.disarm();
      // quit succeeds when QEMU closes the connection.
      if (job.kind === "quit" && job.state === "sent" && by !== "client") job.resolve("");
      else job.reject(new HmpClosedError({ operation: job.commandLine, cause: error }));
    }
    this.#checkIdle();
  }
}

/** The echo line (up to the first line end) dropped, escapes stripped, `\n` line ends. */
function cleanOutput(raw: string): string {
  const newline = raw.indexOf("\n");
  const body = newline === -1 ? "" : raw.slice(newline + 1);
  return stripTerminalEscapes(body).replace(/\r\n/g, "\n").replace(/\r/g, "");
}

function noop(): void {}
