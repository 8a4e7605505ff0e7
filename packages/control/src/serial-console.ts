import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { filterKernelMessages, stripTerminalEscapes } from "./console-text.js";
import {
  type ChannelCloseInfo,
  type CommandResult,
  type ControlChannel,
  type NetworkInterface,
  parseIpOutput,
  type RunOptions,
  type WaitForNetworkOptions,
} from "./control-channel.js";
import { type CallOptions, checkTimeout, withDeadline } from "./deadline.js";
import { debug, preview } from "./debug.js";
import {
  CommandFailedError,
  ConsoleClosedError,
  ConsoleDesyncError,
  ConsoleLoggedOutError,
  ConsoleLoginError,
  ConsoleNotGuestError,
  ConsoleNotLoggedInError,
  ConsoleOutputError,
  ControlAbortError,
  ControlError,
  ControlTimeoutError,
} from "./errors.js";
import {
  ExpectBuffer,
  type ExpectMatch,
  type ExpectPattern,
  patternMatcher,
} from "./expect-buffer.js";
import { type GuestIdentity, qemuDmiVendor } from "./guest-identity.js";
import { pollNetwork } from "./poll-network.js";
import {
  checkScratchPath,
  deliverCommand,
  LoggedOutSignal,
  MAX_LINE_CHARS,
  MissingFunctionSignal,
  type RunTransfer,
  runLine,
  runParser,
  syncLine,
  syncParser,
  TRANSFER_FUNCTION,
  transferScript,
} from "./run-protocol.js";
import { TelnetCodec } from "./telnet.js";
import { Transcript } from "./transcript.js";

export interface SerialConsoleOptions {
  /** The stream is QEMU's `telnet=on` socket: negotiate, strip and escape IAC. Default false (unix socket, raw). */
  telnet?: boolean;
  /** Default `root`. */
  user?: string;
  /** Sent when the guest asks for it after the user name; never shown in transcripts or errors. */
  password?: string;
  /** A login prompt at the end of the output. Default `/login: *$/`. */
  loginPrompt?: RegExp;
  /** A password prompt at the end of the output. Default `/[Pp]assword: *$/`. */
  passwordPrompt?: RegExp;
  /** A shell prompt at the end of the output. Default `/[#$] *$/`. Checked with a marker before it is trusted. */
  shellPrompt?: RegExp;
  /** The guest refused the login. Default `/Login incorrect|Authentication fail|Permission denied/i`. */
  loginFailed?: RegExp;
  /**
   * Checked after every login (see `GuestIdentity`); `false` to skip.
   * Default `qemuDmiVendor()`.
   */
  guestIdentity?: GuestIdentity | false;
  /** Where `run()` keeps a command's output in the guest until it is transferred. Default `/tmp`. */
  scratchDirectory?: string;
  /** Default deadline of `run()` and the helpers built on it. Default 60_000. */
  commandTimeoutMs?: number;
  /** Default deadline of `login()`/`ready()`. Default 120_000. */
  loginTimeoutMs?: number;
  /**
   * While logging in, after this long without any output, send a newline
   * (every third time Ctrl-C) to make the guest show a prompt. Default 2_000.
   */
  nudgeIntervalMs?: number;
  /** Unread characters kept for `expect()` (see `ExpectBuffer`). Default 1 MiB. */
  bufferSize?: number;
  /** Characters of transcript kept. Default 256 KiB. */
  transcriptSize?: number;
  /** Bytes of a command's output transferred; the rest is counted, not sent. Default 16 MiB. */
  maxOutputBytes?: number;
  /** Cut `[ seconds.micros] …` kernel messages out of what login and `run()` read. Default true. */
  filterKernelMessages?: boolean;
  /** How long a timed-out command may take to give the prompt back after Ctrl-C (then Ctrl-\). Default 15_000. */
  recoveryTimeoutMs?: number;
}

/**
 * A shell on a guest's serial console. Create it with {@link serialConsole}.
 * Operations run one at a time, in call order; each deadline counts from the call.
 */
export interface SerialConsole extends ControlChannel {
  readonly kind: "serial-console";
  /** True once `login()` succeeded (until the shell exits or the console closes). */
  readonly isLoggedIn: boolean;
  /** The console output received and not yet consumed by `expect()` or an operation. */
  readonly buffer: string;
  /**
   * Gets to a shell prompt: answers a login prompt, a password prompt (only
   * after our own user name), or finds a shell already logged in; sends a
   * newline when nothing shows. Then checks the guest identity. Idempotent.
   * Default deadline `loginTimeoutMs` (120 s). Rejects with `ERR_CONSOLE_LOGIN`,
   * `ERR_CONSOLE_NOT_GUEST`, `ERR_CONSOLE_CLOSED`, `ERR_TIMEOUT`, `ERR_ABORTED`.
   */
  login(options?: CallOptions): Promise<void>;
  /** `login()`. */
  ready(options?: CallOptions): Promise<void>;
  /**
   * Runs `command` in the logged-in shell (its state persists between calls;
   * stdin is /dev/null) and resolves with its exit status and its output
   * alone. Default deadline `commandTimeoutMs`. On timeout or abort: rejects
   * at once, then interrupts the command (Ctrl-C, then Ctrl-\) and waits for
   * the shell before the next operation. Discards unread console output.
   */
  run(command: string, options?: RunOptions): Promise<CommandResult>;
  /**
   * Waits for `pattern` (or the earliest of several) in the console output,
   * consuming through the match. Default deadline 30_000; on timeout the
   * unread text stays in `buffer`. Rejects with `ERR_CONSOLE_OVERFLOW` once if
   * unread output was dropped since the last read.
   */
  expect(
    pattern: ExpectPattern | readonly ExpectPattern[],
    options?: CallOptions,
  ): Promise<ExpectMatch>;
  /** Writes raw text or bytes (telnet-escaped when needed); resolves once flushed. */
  write(data: string | Uint8Array, options?: CallOptions): Promise<void>;
  /** `write(line + "\n")`: a bare newline, as a terminal's Enter (not CR LF). */
  sendLine(line: string, options?: CallOptions): Promise<void>;
  /**
   * Ctrl-C, then a marker the shell must print: for after raw `write()`s, or a
   * program left running, on a logged-in console. Rejects with `ERR_CONSOLE_DESYNC`
   * if the shell never answers (Ctrl-C twice, then Ctrl-\).
   */
  resync(options?: CallOptions): Promise<void>;
  /** The last `maxChars` of everything read and written (password masked). */
  transcript(maxChars?: number): string;
}

const DEFAULTS = {
  user: "root",
  loginPrompt: /login: *$/,
  passwordPrompt: /[Pp]assword: *$/,
  shellPrompt: /[#$] *$/,
  loginFailed: /Login incorrect|Authentication fail|Permission denied/i,
  scratchDirectory: "/tmp",
  commandTimeoutMs: 60_000,
  loginTimeoutMs: 120_000,
  nudgeIntervalMs: 2_000,
  bufferSize: 1024 * 1024,
  transcriptSize: 256 * 1024,
  maxOutputBytes: 16 * 1024 * 1024,
  recoveryTimeoutMs: 15_000,
  expectTimeoutMs: 30_000,
} as const;

/** How long login waits for the marker after it saw something like a shell prompt. */
const SHELL_CHECK_MS = 10_000;
/** Transfers of one output, the first included. */
const TRANSFER_ATTEMPTS = 3;
/** Transcript characters attached to errors. */
const ERROR_TRANSCRIPT_CHARS = 4_096;

/**
 * A serial console over `stream`, a connected socket to QEMU's serial chardev
 * (`-chardev socket,…,server=on` with `telnet=on` or a unix path), or any
 * duplex carrying the same bytes. Nothing is sent until the first operation.
 */
export function serialConsole(stream: Duplex, options: SerialConsoleOptions = {}): SerialConsole {
  return new DefaultSerialConsole(stream, options);
}

function newToken(): string {
  return randomBytes(8).toString("hex");
}

class DefaultSerialConsole implements SerialConsole {
  readonly kind = "serial-console" as const;
  readonly #stream: Duplex;
  readonly #telnet: TelnetCodec | undefined;
  readonly #decoder = new StringDecoder("utf8");
  readonly #buffer: ExpectBuffer;
  readonly #transcript: Transcript;
  readonly #user: string;
  readonly #password: string | undefined;
  readonly #loginPrompt: RegExp;
  readonly #passwordPrompt: RegExp;
  readonly #shellPrompt: RegExp;
  readonly #loginFailed: RegExp;
  readonly #identity: GuestIdentity | false;
  readonly #scratch: string;
  readonly #commandTimeoutMs: number;
  readonly #loginTimeoutMs: number;
  readonly #nudgeIntervalMs: number;
  readonly #maxOutputBytes: number;
  readonly #filter: boolean;
  readonly #recoveryTimeoutMs: number;
  readonly #session = randomBytes(4).toString("hex");
  #runs = 0;
  #lastFile: string | undefined;
  #loggedIn = false;
  /** False after an interrupted command until a marker came back. */
  #synced = true;
  #poweringDown = false;
  #closing = false;
  #closeInfo: ChannelCloseInfo | undefined;
  #tail: Promise<void> = Promise.resolve();
  /** When console output last arrived (for nudging). */
  #lastInputAt = performance.now();
  readonly closed: Promise<ChannelCloseInfo>;
  #resolveClosed!: (info: ChannelCloseInfo) => void;

  constructor(stream: Duplex, options: SerialConsoleOptions) {
    checkTimeout(options.commandTimeoutMs, "commandTimeoutMs");
    checkTimeout(options.loginTimeoutMs, "loginTimeoutMs");
    checkTimeout(options.nudgeIntervalMs, "nudgeIntervalMs");
    checkTimeout(options.recoveryTimeoutMs, "recoveryTimeoutMs");
    for (const name of ["bufferSize", "transcriptSize", "maxOutputBytes"] as const) {
      const value = options[name];
      if (value !== undefined && (!Number.isInteger(value) || value < 1024))
        throw new TypeError(`${name} must be an integer of at least 1024, got ${value}`);
    }
    for (const name of ["loginPrompt", "passwordPrompt", "shellPrompt", "loginFailed"] as const) {
      const value = options[name];
      if (value !== undefined && !(value instanceof RegExp))
        throw new TypeError(`${name} must be a RegExp`);
    }
    const user = options.user ?? DEFAULTS.user;
    if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(user))
      throw new TypeError(`user must be a plain user name, got ${JSON.stringify(user)}`);
    if (options.password !== undefined && /[\r\n\x00]/.test(options.password))
      throw new TypeError("password must not contain CR, LF or NUL");
    const scratch = options.scratchDirectory ?? DEFAULTS.scratchDirectory;
    checkScratchPath(scratch);

    this.#stream = stream;
    this.#telnet = options.telnet ? new TelnetCodec() : undefined;
    this.#buffer = new ExpectBuffer(options.bufferSize ?? DEFAULTS.bufferSize);
    this.#transcript = new Transcript(options.transcriptSize ?? DEFAULTS.transcriptSize);
    this.#user = user;
    this.#password = options.password;
    if (options.password) this.#transcript.addSecret(options.password);
    this.#loginPrompt = options.loginPrompt ?? DEFAULTS.loginPrompt;
    this.#passwordPrompt = options.passwordPrompt ?? DEFAULTS.passwordPrompt;
    this.#shellPrompt = options.shellPrompt ?? DEFAULTS.shellPrompt;
    this.#loginFailed = options.loginFailed ?? DEFAULTS.loginFailed;
    this.#identity = options.guestIdentity ?? qemuDmiVendor();
    this.#scratch = scratch.replace(/\/$/, "") || "/";
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs;
    this.#loginTimeoutMs = options.loginTimeoutMs ?? DEFAULTS.loginTimeoutMs;
    this.#nudgeIntervalMs = options.nudgeIntervalMs ?? DEFAULTS.nudgeIntervalMs;
    this.#maxOutputBytes = options.maxOutputBytes ?? DEFAULTS.maxOutputBytes;
    this.#filter = options.filterKernelMessages ?? true;
    this.#recoveryTimeoutMs = options.recoveryTimeoutMs ?? DEFAULTS.recoveryTimeoutMs;
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

  get isLoggedIn(): boolean {
    return this.#loggedIn && !this.#closeInfo;
  }

  get isClosed(): boolean {
    return this.#closeInfo !== undefined;
  }

  get buffer(): string {
    return this.#buffer.text;
  }

  transcript(maxChars?: number): string {
    return this.#transcript.text(maxChars);
  }

  // ------------------------------------------------------------------ input

  readonly #onData = (chunk: Buffer | string): void => {
    let bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    if (this.#telnet) {
      const { data, reply } = this.#telnet.decode(bytes);
      if (reply.length > 0) {
        debug("console: telnet negotiation reply %s", reply.toString("hex"));
        if (!this.#stream.destroyed) this.#stream.write(reply);
      }
      bytes = data;
    }
    const text = this.#decoder.write(bytes);
    if (text.length === 0) return;
    this.#lastInputAt = performance.now();
    this.#transcript.received(text);
    if (debug.enabled) debug("console <- %s", preview(this.#transcript.mask(text)));
    this.#buffer.push(text);
  };

  readonly #onEnd = (): void => {
    this.#finalize("peer", undefined);
  };

  readonly #onError = (error: Error): void => {
    const code = (error as NodeJS.ErrnoException).code;
    this.#finalize(code === "ECONNRESET" || code === "EPIPE" ? "peer" : "error", error);
  };

  // ----------------------------------------------------------------- output

  /** Writes `text` and resolves once it is flushed to the stream. */
  #write(text: string | Uint8Array, options: { secret?: boolean } = {}): Promise<void> {
    if (this.#closeInfo || this.#stream.destroyed)
      return Promise.reject(
        new ConsoleClosedError({ operation: "write", cause: this.#closeInfo?.error }),
      );
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : Buffer.from(text);
    this.#transcript.sent(typeof text === "string" ? text : bytes.toString("latin1"), options);
    if (debug.enabled)
      debug(
        "console -> %s",
        options.secret ? '"********"' : preview(this.#transcript.mask(bytes.toString("utf8"))),
      );
    const wire = this.#telnet ? this.#telnet.encode(bytes) : bytes;
    return new Promise((resolve, reject) => {
      this.#stream.write(wire, (error) => {
        if (error) reject(new ConsoleClosedError({ operation: "write", cause: error }));
        else resolve();
      });
    });
  }

  // ------------------------------------------------------------- operations

  /** Runs `work` alone (after the operations called before it), under the call's deadline. */
  #operation<T>(
    operation: string,
    options: CallOptions,
    defaultTimeoutMs: number,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return withDeadline(operation, options, defaultTimeoutMs, async (signal) => {
      const release = await this.#acquire(signal);
      try {
        if (this.#closeInfo || this.#closing)
          throw new ConsoleClosedError({ operation, cause: this.#closeInfo?.error });
        return await work(signal);
      } finally {
        release();
      }
    }).catch((error: unknown) => {
      if (error instanceof ControlError && error.transcript === undefined)
        error.transcript = this.#transcript.text(ERROR_TRANSCRIPT_CHARS);
      throw error;
    });
  }

  #acquire(signal: AbortSignal): Promise<() => void> {
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.#tail;
    this.#tail = done;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      void previous.then(() => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) release();
        else resolve(release);
      });
    });
  }

  write(data: string | Uint8Array, options: CallOptions = {}): Promise<void> {
    if (typeof data !== "string" && !(data instanceof Uint8Array))
      throw new TypeError("data must be a string or Uint8Array");
    return this.#operation("write", options, DEFAULTS.expectTimeoutMs, () => this.#write(data));
  }

  sendLine(line: string, options: CallOptions = {}): Promise<void> {
    if (typeof line !== "string") throw new TypeError("line must be a string");
    return this.write(`${line}\n`, options);
  }

  expect(
    pattern: ExpectPattern | readonly ExpectPattern[],
    options: CallOptions = {},
  ): Promise<ExpectMatch> {
    const patterns: readonly ExpectPattern[] = Array.isArray(pattern)
      ? pattern
      : [pattern as ExpectPattern];
    if (patterns.length === 0) throw new TypeError("expect needs at least one pattern");
    const matcher = patternMatcher(patterns);
    const name = `expect ${patterns.map((item) => String(item)).join(" | ")}`;
    return this.#operation(name, options, DEFAULTS.expectTimeoutMs, (signal) => {
      this.#buffer.checkOverflow();
      return this.#buffer.wait(name, matcher, { signal });
    });
  }

  resync(options: CallOptions = {}): Promise<void> {
    return this.#operation("resync", options, this.#recoveryTimeoutMs, async (signal) => {
      // At a login prompt, the marker line would be taken for a user name.
      if (!this.#loggedIn) throw new ConsoleNotLoggedInError("resync()");
      await this.#recover(signal, true);
      if (!this.#synced)
        throw new ConsoleDesyncError(
          "the shell did not answer after Ctrl-C and Ctrl-\\: a program ignores them, or the shell itself is stuck",
        );
    });
  }

  // ------------------------------------------------------------------ login

  login(options: CallOptions = {}): Promise<void> {
    return this.#operation("login", options, this.#loginTimeoutMs, (signal) => this.#login(signal));
  }

  ready(options: CallOptions = {}): Promise<void> {
    return this.login(options);
  }

  async #login(signal: AbortSignal): Promise<void> {
    this.#loggedIn = false;
    this.#buffer.resetOverflow();
    let sentUser = false;
    let passwordsSent = 0;
    let nudges = 0;
    // Nothing shown yet (a late connection to an idle console): ask for a prompt at once.
    if (this.#buffer.text.trim() === "") {
      await this.#nudge(nudges++);
    }
    for (;;) {
      let state: LoginState | undefined;
      try {
        state = await this.#buffer.wait(
          "login",
          (text) => {
            const found = this.#classify(text, passwordsSent > 0);
            return found ? { consume: text.length, done: true, value: found } : undefined;
          },
          { signal, timeoutMs: this.#nudgeIntervalMs },
        );
      } catch (error) {
        if (signal.aborted || !(error instanceof ControlTimeoutError)) throw error;
        // Quiet for a while with no prompt in sight: provoke one.
        if (performance.now() - this.#lastInputAt >= this.#nudgeIntervalMs * 0.9)
          await this.#nudge(nudges++);
        continue;
      }
      debug("console: login sees %s", state.kind);
      switch (state.kind) {
        case "failed":
          throw new ConsoleLoginError(`the guest refused the login of ${this.#user}`, {
            user: this.#user,
          });
        case "login":
          await this.#write(`${this.#user}\n`);
          sentUser = true;
          break;
        case "password":
          if (!sentUser && !state.forUser) {
            // Someone else's half-done login: end it (an empty password fails) and start over.
            this.#transcript.note("a password prompt for an unknown user: ending it");
            await this.#write("\n");
            break;
          }
          if (this.#password === undefined)
            throw new ConsoleLoginError(
              `the guest asks for ${this.#user}'s password and none is configured`,
              { user: this.#user },
            );
          if (passwordsSent > 0)
            throw new ConsoleLoginError(`the guest asked for ${this.#user}'s password again`, {
              user: this.#user,
            });
          await this.#write(`${this.#password}\n`, { secret: true });
          passwordsSent++;
          sentUser = false;
          break;
        case "shell":
          if (await this.#checkShell(signal)) {
            await this.#typeAndSync(TRANSFER_FUNCTION, signal);
            await this.#checkIdentity(signal);
            this.#loggedIn = true;
            this.#synced = true;
            this.#transcript.note("logged in");
            return;
          }
          break;
      }
    }
  }

  #nudge(count: number): Promise<void> {
    // Mostly a bare newline; every third time Ctrl-C, in case a program holds the terminal.
    return this.#write(count % 3 === 2 ? "\x03" : "\n");
  }

  /** What the end of the console output shows, kernel messages and escapes removed. */
  #classify(text: string, afterPassword: boolean): LoginState | undefined {
    const { clean } = this.#filter ? filterKernelMessages(text) : { clean: text };
    const view = stripTerminalEscapes(clean).replace(/\r/g, "");
    if (view.length === 0) return undefined;
    if (afterPassword && this.#loginFailed.test(view)) return { kind: "failed" };
    if (this.#passwordPrompt.test(view)) {
      // Whose password: the line typed before the prompt (`guest login: root`).
      const lines = view.split("\n");
      const typed = (lines[lines.length - 2] ?? "").replace(/^.*login: */, "").trim();
      return { kind: "password", forUser: typed === this.#user };
    }
    if (this.#loginPrompt.test(view)) return { kind: "login" };
    if (this.#shellPrompt.test(view)) return { kind: "shell" };
    return undefined;
  }

  /** A marker line: true if a shell printed it (we are at a shell prompt). */
  async #checkShell(signal: AbortSignal): Promise<boolean> {
    const token = newToken();
    await this.#write(`${syncLine(token)}\n`);
    try {
      await this.#buffer.wait("login: shell check", syncParser([token], this.#filter), {
        signal,
        timeoutMs: SHELL_CHECK_MS,
      });
      return true;
    } catch (error) {
      if (signal.aborted || !(error instanceof ControlTimeoutError)) throw error;
      this.#transcript.note("no marker from what looked like a shell prompt");
      return false;
    }
  }

  async #checkIdentity(signal: AbortSignal): Promise<void> {
    const identity = this.#identity;
    if (identity === false) return;
    const result = await this.#run(identity.command, signal);
    const output = result.output.trim();
    if (!identity.accepts(output, result.exitCode))
      throw new ConsoleNotGuestError({
        check: identity.description,
        exitCode: result.exitCode,
        output,
      });
  }

  // -------------------------------------------------------------------- run

  run(command: string, options: RunOptions = {}): Promise<CommandResult> {
    if (typeof command !== "string") throw new TypeError("command must be a string");
    deliverCommand(command); // throws a TypeError for NUL at once
    checkTimeout(options.timeoutMs);
    return this.#operation(
      `run ${preview(command, 80)}`,
      options,
      this.#commandTimeoutMs,
      (signal) => {
        if (!this.#loggedIn) throw new ConsoleNotLoggedInError("run()");
        return this.#run(command, signal);
      },
    );
  }

  async #run(command: string, signal: AbortSignal): Promise<CommandResult> {
    await this.#ensureSynced(signal);
    const started = performance.now();
    const delivery = deliverCommand(command);
    const file = `${this.#scratch === "/" ? "" : this.#scratch}/.qk-${this.#session}-${++this.#runs}`;
    const previousFile = this.#lastFile;
    this.#lastFile = file;
    try {
      for (const prelude of delivery.preludes) await this.#typeAndSync(prelude, signal);
      this.#buffer.clear();
      this.#buffer.resetOverflow();
      let token = newToken();
      const line = runLine({
        evalWords: delivery.evalWords,
        token,
        file,
        previousFile,
        maxOutputBytes: this.#maxOutputBytes,
      });
      if (line.length > MAX_LINE_CHARS + 200)
        throw new Error(`internal: run line of ${line.length} characters`);
      await this.#write(`${line}\n`);
      let transfer: RunTransfer;
      let redefined = false;
      for (let attempt = 1; ; ) {
        try {
          transfer = await this.#receive(token, command, signal);
        } catch (error) {
          if (!(error instanceof MissingFunctionSignal) || redefined) throw error;
          // The command ran, but in a shell that lacks our function (it ran `exec sh`, `su`…).
          redefined = true;
          this.#transcript.note("the shell lost the transfer function: defining it again");
          await this.#typeAndSync(TRANSFER_FUNCTION, signal);
          token = newToken();
          await this.#write(`${transferScript(token, file, this.#maxOutputBytes)}\n`);
          continue;
        }
        if (transfer.kind !== "corrupt" || attempt >= TRANSFER_ATTEMPTS) break;
        attempt++;
        this.#transcript.note(`output transfer damaged (${transfer.reason}): sending it again`);
        debug("console: output transfer damaged (%s), attempt %d", transfer.reason, attempt);
        token = newToken();
        await this.#write(`${transferScript(token, file, this.#maxOutputBytes)}\n`);
      }
      if (transfer.kind === "corrupt")
        throw new ConsoleOutputError(
          `the output of ${JSON.stringify(command)} was damaged on the console ${TRANSFER_ATTEMPTS} times: ${transfer.reason}`,
          { reason: "corrupt", command, exitCode: transfer.exitCode ?? -1 },
        );
      if (transfer.kind === "lost")
        throw new ConsoleOutputError(
          `the output file of ${JSON.stringify(command)} was missing (the command removed it, or ${this.#scratch} is not writable); exit code ${transfer.exitCode}`,
          { reason: "lost", command, exitCode: transfer.exitCode },
        );
      return {
        exitCode: transfer.exitCode,
        signal: undefined,
        output: transfer.output.toString("utf8"),
        outputBytes: transfer.output,
        outputTruncated: transfer.truncated,
        durationMs: performance.now() - started,
      };
    } catch (error) {
      if (error instanceof LoggedOutSignal) {
        this.#loggedIn = false;
        this.#transcript.note("the shell exited");
        throw new ConsoleLoggedOutError({ command });
      }
      if (error instanceof ControlAbortError || error instanceof ControlTimeoutError) {
        // The caller has its answer already; put the shell back in order before the next operation.
        await this.#recover(undefined, true);
      }
      throw error;
    }
  }

  #receive(token: string, command: string, signal: AbortSignal): Promise<RunTransfer> {
    const parser = runParser({
      token,
      maxOutputBytes: this.#maxOutputBytes,
      filterKernelMessages: this.#filter,
      loginPrompt: this.#loginPrompt,
      onKernelMessage: (message) => {
        this.#transcript.note(`kernel message cut out of the output: ${message.trimEnd()}`);
        debug("console: kernel message cut out: %s", preview(message));
      },
    });
    return this.#buffer.wait(`run ${preview(command, 80)}`, parser, { signal });
  }

  /** Types `line` followed by a marker; resolves once the marker came back. */
  async #typeAndSync(line: string, signal: AbortSignal): Promise<void> {
    const token = newToken();
    this.#buffer.clear();
    await this.#write(`${line}; ${syncLine(token)}\n`);
    await this.#buffer.wait("type a command piece", syncParser([token], this.#filter), { signal });
  }

  async #ensureSynced(signal: AbortSignal): Promise<void> {
    if (this.#synced) return;
    await this.#recover(signal, true);
    if (!this.#synced)
      throw new ConsoleDesyncError(
        "the console is out of step: an interrupted command still holds the terminal, or the shell itself is stuck (no marker after Ctrl-C and Ctrl-\\)",
      );
  }

  /**
   * Interrupts whatever runs (Ctrl-C, Ctrl-C, then Ctrl-\), each time followed
   * by a marker line, until a marker comes back. Sets `#synced`. Bounded by
   * `recoveryTimeoutMs` (and `signal`, if given); never rejects except on abort.
   */
  async #recover(signal: AbortSignal | undefined, interrupt: boolean): Promise<void> {
    this.#synced = false;
    const keys = interrupt ? ["\x03", "\x03", "\x1c"] : [""];
    const tokens: string[] = [];
    this.#transcript.note("interrupting");
    for (const key of keys) {
      if (this.#closeInfo) return;
      const token = newToken();
      tokens.push(token);
      try {
        if (key) await this.#write(key);
        await this.#write(`${syncLine(token)}\n`);
        await this.#buffer.wait("resynchronize", syncParser(tokens, this.#filter), {
          signal,
          timeoutMs: this.#recoveryTimeoutMs / keys.length,
        });
        this.#synced = true;
        this.#transcript.note("back at the shell");
        return;
      } catch (error) {
        if (signal?.aborted) throw error;
        if (!(error instanceof ControlTimeoutError)) return; // closed
      }
    }
    this.#transcript.note("the shell did not come back");
  }

  // ---------------------------------------------------------------- helpers

  networkInterfaces(options: CallOptions = {}): Promise<NetworkInterface[]> {
    return this.#operation("networkInterfaces", options, this.#commandTimeoutMs, async (signal) => {
      if (!this.#loggedIn) throw new ConsoleNotLoggedInError("networkInterfaces()");
      const command = "ip -o link show && ip -o addr show";
      const result = await this.#run(command, signal);
      if (result.exitCode !== 0)
        throw new CommandFailedError({ command, exitCode: result.exitCode, output: result.output });
      return parseIpOutput(result.output);
    });
  }

  waitForNetwork(options: WaitForNetworkOptions = {}): Promise<NetworkInterface[]> {
    return pollNetwork(this, options, this.#commandTimeoutMs);
  }

  powerdown(options: CallOptions = {}): Promise<void> {
    return this.#operation("powerdown", options, this.#commandTimeoutMs, async (signal) => {
      if (!this.#loggedIn) throw new ConsoleNotLoggedInError("powerdown()");
      const command = "poweroff";
      this.#poweringDown = true;
      let result: CommandResult;
      try {
        result = await this.#run(command, signal);
      } catch (error) {
        if (error instanceof ConsoleClosedError) return; // gone already
        throw error;
      }
      if (result.exitCode !== 0) {
        this.#poweringDown = false;
        throw new CommandFailedError({ command, exitCode: result.exitCode, output: result.output });
      }
    });
  }

  // -------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.#closeInfo) return;
    if (!this.#closing) {
      // Queue behind the operations already called; then tidy up and close.
      const release = await this.#acquire(new AbortController().signal);
      this.#closing = true;
      try {
        const file = this.#lastFile;
        if (file && this.#loggedIn && this.#synced && !this.#poweringDown && !this.#closeInfo) {
          const signal = AbortSignal.timeout(5_000);
          await this.#typeAndSync(`rm -f ${file}`, signal).catch(() => {});
        }
      } finally {
        release();
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
    this.#loggedIn = false;
    debug("console: closed by %s%s", by, error ? `: ${error.message}` : "");
    this.#transcript.note(`closed by ${by}${error ? `: ${error.message}` : ""}`);
    const rest = this.#decoder.end();
    if (rest) this.#buffer.push(rest);
    this.#stream.off("data", this.#onData);
    this.#stream.off("error", this.#onError);
    this.#stream.on("error", () => {}); // a destroyed stream may still report one
    if (!this.#stream.destroyed) this.#stream.destroy();
    this.#buffer.end(error);
    this.#resolveClosed(info);
  }
}

type LoginState =
  | { kind: "login" }
  | { kind: "password"; forUser: boolean }
  | { kind: "shell" }
  | { kind: "failed" };
