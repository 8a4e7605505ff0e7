import type { Duplex } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { arm, type CallOptions, checkTimeout, withDeadline } from "./deadline.js";
import { debug, preview } from "./debug.js";
import { HmpClosedError, HmpProtocolError, MonitorAbortError } from "./errors.js";
import type { QmpCloseInfo } from "./qmp-types.js";

export interface ConnectHmpOptions extends CallOptions {
  /** Deadline for the banner and first prompt. Default 30_000. */
  timeoutMs?: number;
  /** Default deadline of each command (time queued included). Default 60_000; `Infinity` = none. */
  commandTimeoutMs?: number;
}

/** How an HMP connection ended (same shape as for QMP). */
export type HmpCloseInfo = QmpCloseInfo;

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
  readonly closed: Promise<HmpCloseInfo>;
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
  /** Abrupt: everything pending rejects with `ERR_HMP_CLOSED`. */
  destroy(reason?: Error): void;
}

const PROMPT = "(qemu) ";
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const DEFAULT_QUIT_TIMEOUT_MS = 30_000;
/** Without a prompt after this much text, the peer is not an HMP monitor. */
const MAX_BANNER_CHARS = 64 * 1024;

/**
 * Connects to QEMU's human monitor over `stream` and resolves after its banner
 * and first `(qemu) ` prompt. On failure the stream is destroyed.
 */
export async function connectHmp(
  stream: Duplex,
  options: ConnectHmpOptions = {},
): Promise<HmpClient> {
  checkTimeout(options.timeoutMs);
  checkTimeout(options.commandTimeoutMs, "commandTimeoutMs");
  const client = new DefaultHmpClient(
    stream,
    options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
  );
  try {
    await withDeadline("HMP connect", options, DEFAULT_CONNECT_TIMEOUT_MS, () => client.ready);
  } catch (error) {
    client.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  return client;
}

/** Removes terminal escape sequences (readline's `ESC[K`, `ESC[D`…). */
export function stripTerminalEscapes(text: string): string {
  // CSI sequences (ESC [ params intermediates final), then other ESC sequences (ESC 7, ESC c…).
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b[ -/]*[0-~]/g, "");
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
  readonly #stream: Duplex;
  readonly #commandTimeoutMs: number;
  readonly #decoder = new StringDecoder("utf8");
  #text = "";
  #banner = "";
  #greeted = false;
  readonly #queue: Job[] = [];
  #current: Job | undefined;
  #closing = false;
  #closeInfo: HmpCloseInfo | undefined;
  #onIdle: (() => void) | undefined;
  readonly ready: Promise<void>;
  #ready!: { resolve(): void; reject(error: unknown): void };
  readonly closed: Promise<HmpCloseInfo>;
  #resolveClosed!: (info: HmpCloseInfo) => void;

  constructor(stream: Duplex, commandTimeoutMs: number) {
    this.#stream = stream;
    this.#commandTimeoutMs = commandTimeoutMs;
    this.ready = new Promise((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    this.ready.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    stream.on("data", this.#onData);
    stream.on("end", this.#onEnd);
    stream.on("close", this.#onEnd);
    stream.on("error", this.#onError);
    if (stream.destroyed || stream.readableEnded) {
      queueMicrotask(() => this.#finalize("peer", new Error("the stream was already closed")));
    }
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

  get isClosed(): boolean {
    return this.#closeInfo !== undefined;
  }

  command(commandLine: string, options: CallOptions = {}): Promise<string> {
    if (typeof commandLine !== "string" || commandLine.trim() === "")
      throw new TypeError("an HMP command line is a non-empty string");
    // A control character would drive readline (TAB completes, ESC starts a sequence,
    // CR/LF ends the line early) and desynchronise the prompt count.
    if (/[\x00-\x1f\x7f]/.test(commandLine))
      throw new TypeError(
        `HMP command line has a control character: ${JSON.stringify(commandLine)}`,
      );
    checkTimeout(options.timeoutMs);
    return this.#enqueue(
      "command",
      commandLine,
      options.signal,
      options.timeoutMs ?? this.#commandTimeoutMs,
    );
  }

  quit(options: CallOptions = {}): Promise<void> {
    return withDeadline("HMP quit", options, DEFAULT_QUIT_TIMEOUT_MS, async (signal) => {
      await this.#enqueue("quit", "quit", signal, Number.POSITIVE_INFINITY);
    });
  }

  #enqueue(
    kind: Job["kind"],
    commandLine: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<string> {
    if (this.#closeInfo || this.#closing)
      return Promise.reject(
        new HmpClosedError({ operation: commandLine, cause: this.#closeInfo?.error }),
      );
    if (signal?.aborted)
      return Promise.reject(
        new MonitorAbortError({ operation: commandLine, cause: signal.reason }),
      );
    return new Promise<string>((resolve, reject) => {
      const job: Job = {
        commandLine,
        kind,
        state: "queued",
        resolve,
        reject,
        disarm: arm(`HMP ${commandLine}`, signal, timeoutMs, (error) => {
          if (job.state === "queued") {
            const index = this.#queue.indexOf(job);
            if (index >= 0) this.#queue.splice(index, 1);
          } else {
            // Sent: its output and prompt are still coming; skip them.
            job.state = "abandoned";
          }
          reject(error);
          this.#checkIdle();
        }),
      };
      this.#queue.push(job);
      this.#pump();
    });
  }

  #pump(): void {
    if (!this.#greeted || this.#current || this.#closeInfo) return;
    const job = this.#queue.shift();
    if (!job) {
      this.#checkIdle();
      return;
    }
    if (this.#text.length > 0) {
      debug("hmp: unsolicited output dropped: %s", preview(JSON.stringify(this.#text)));
      this.#text = "";
    }
    job.state = "sent";
    this.#current = job;
    debug("hmp -> %s", job.commandLine);
    this.#stream.write(`${job.commandLine}\n`);
  }

  readonly #onData = (chunk: Buffer | string): void => {
    this.#text += typeof chunk === "string" ? chunk : this.#decoder.write(chunk);
    if (!this.#text.endsWith(PROMPT)) {
      if (!this.#greeted) this.#checkBanner();
      return;
    }
    const before = this.#text.length - PROMPT.length;
    // The prompt starts a line; "(qemu) " inside a line is output.
    if (before > 0 && this.#text[before - 1] !== "\n") return;
    const raw = this.#text.slice(0, before);
    this.#text = "";
    if (!this.#greeted) {
      this.#greeted = true;
      this.#banner = stripTerminalEscapes(raw).trim();
      debug("hmp: banner %s", this.#banner);
      this.#ready.resolve();
      this.#pump();
      return;
    }
    const job = this.#current;
    this.#current = undefined;
    if (!job) {
      debug("hmp: prompt with no command in flight: %s", preview(JSON.stringify(raw)));
    } else if (job.state === "abandoned") {
      debug("hmp: output of abandoned %s dropped", job.commandLine);
    } else {
      job.disarm();
      const output = cleanOutput(raw);
      if (debug.enabled) debug("hmp <- %s", preview(JSON.stringify(output)));
      job.resolve(output);
    }
    this.#pump();
  };

  #checkBanner(): void {
    if (this.#text.startsWith("{")) {
      this.#finalize(
        "error",
        new HmpProtocolError("this is a QMP socket (-qmp), not the human monitor: use connectQmp", {
          received: this.#text,
        }),
      );
    } else if (this.#text.length > MAX_BANNER_CHARS) {
      this.#finalize(
        "error",
        new HmpProtocolError("no (qemu) prompt: the peer is not QEMU's human monitor", {
          received: this.#text,
        }),
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closeInfo) return;
    if (!this.#closing) {
      this.#closing = true;
      if (this.#current || this.#queue.length > 0) {
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
    if (
      this.#onIdle &&
      this.#queue.length === 0 &&
      (!this.#current || this.#current.state === "abandoned")
    ) {
      const idle = this.#onIdle;
      this.#onIdle = undefined;
      idle();
    }
  }

  readonly #onEnd = (): void => {
    this.#finalize("peer", undefined);
  };

  readonly #onError = (error: Error): void => {
    const code = (error as NodeJS.ErrnoException).code;
    this.#finalize(code === "ECONNRESET" || code === "EPIPE" ? "peer" : "error", error);
  };

  #finalize(by: HmpCloseInfo["by"], error: Error | undefined): void {
    if (this.#closeInfo) return;
    const info: HmpCloseInfo = error ? { by, error } : { by };
    this.#closeInfo = info;
    debug("hmp: closed by %s%s", by, error ? `: ${error.message}` : "");
    this.#stream.off("data", this.#onData);
    this.#stream.off("error", this.#onError);
    this.#stream.on("error", () => {});
    if (!this.#stream.destroyed) this.#stream.destroy();
    this.#ready.reject(error ?? new HmpClosedError({ operation: "HMP connect" }));
    const jobs = this.#current ? [this.#current, ...this.#queue] : [...this.#queue];
    this.#current = undefined;
    this.#queue.length = 0;
    for (const job of jobs) {
      if (job.state === "abandoned") continue;
      job.disarm();
      // quit succeeds when the connection closes.
      if (job.kind === "quit" && job.state === "sent" && by !== "client") job.resolve("");
      else job.reject(new HmpClosedError({ operation: job.commandLine, cause: error }));
    }
    this.#onIdle?.();
    this.#onIdle = undefined;
    this.#resolveClosed(info);
  }
}

/** The echo line (up to the first line end) dropped, escapes stripped, `\n` line ends. */
function cleanOutput(raw: string): string {
  const newline = raw.indexOf("\n");
  const body = newline === -1 ? "" : raw.slice(newline + 1);
  return stripTerminalEscapes(body).replace(/\r\n/g, "\n").replace(/\r/g, "");
}
