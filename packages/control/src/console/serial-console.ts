import type { Duplex } from "node:stream";
import {
  type CallOptions,
  type CloseInfo,
  checkCallOptions,
  debugLog,
  excerpt,
  InvalidArgumentError,
  TimeoutError,
  withDeadline,
} from "@qemu-kvm/core";
import type {
  CommandResult,
  ControlChannel,
  NetworkInterface,
  RunOptions,
  WaitForNetworkOptions,
} from "../control-channel.js";
import { operations } from "../diagnostics.js";
import { ControlCommandError } from "../errors.js";
import { parseIpOutput, pollNetwork } from "../network.js";
import { checkText } from "../options.js";
import {
  attachTranscript,
  ConsoleClosedError,
  ConsoleDesyncError,
  ConsoleNotLoggedInError,
  ConsoleScratchError,
  ConsoleTimeoutError,
} from "./errors.js";
import { logIn } from "./login.js";
import { logOut, removeDirectories } from "./logout.js";
import { OperationQueue } from "./operation-queue.js";
import {
  type ConsoleSettings,
  closeOptions,
  consoleSettings,
  EXPECT_TIMEOUT_MS,
  type SerialConsoleCloseOptions,
  type SerialConsoleOptions,
} from "./options.js";
import { compilePatterns, type ExpectMatch, type ExpectPattern } from "./patterns.js";
import { ConsoleShell } from "./shell.js";
import { ConsoleTerminal } from "./terminal.js";

/**
 * A shell on a guest's serial console. Create it with {@link createSerialConsole}.
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
   * newline when nothing shows. Then checks the shell with a marker and the
   * guest identity, on one line (the first `run()` makes the session's private
   * directory). Idempotent. Default deadline `loginTimeoutMs` (120 s). Rejects
   * with `ERR_CONSOLE_LOGIN`, `ERR_CONSOLE_NOT_GUEST`, `ERR_CONSOLE_CLOSED`,
   * `ERR_TIMEOUT`, `ERR_ABORTED`; and `ERR_CONSOLE_SCRATCH` when the identity
   * check is a command without a `file` (it runs as the first command).
   * Traced as `login` on `qemu-kvm:control`.
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
   * The first run of a login also defines the run function and makes the
   * session's private directory in `scratchDirectory`, on the same line when
   * both fit: `ERR_CONSOLE_SCRATCH` when it cannot be made (still logged in;
   * the next run tries again). Traced as `run` on `qemu-kvm:control`.
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
  /**
   * Waits for `pattern` (or the earliest of several) in the console output
   * without consuming it: looks at the unread text (`buffer`) and at everything
   * received from now on, whoever reads it, so the `login()` or `expect()` that
   * follows still finds it. Not queued behind other operations (it may run
   * beside `login()`); sends nothing (a console that shows nothing stays
   * silent: `login()` nudges, this does not). Bounded as `expect()` is: a match
   * may start at most `bufferSize` characters back. Resolves an `ExpectMatch`
   * (`before`: the text seen before the match). Default deadline 30_000; rejects
   * with `ERR_TIMEOUT` (the buffer as it was), `ERR_ABORTED`, `ERR_CONSOLE_CLOSED`.
   */
  waitForOutput(
    pattern: ExpectPattern | readonly ExpectPattern[],
    options?: CallOptions,
  ): Promise<ExpectMatch>;
  /**
   * Ends the logged-in shell (`exit`) and waits for the login prompt; resolves
   * at once when not logged in. Default deadline `logoutTimeoutMs` (10 s).
   * Rejects with `ERR_TIMEOUT` (no login prompt: e.g. a nested shell answered),
   * `ERR_CONSOLE_DESYNC`, `ERR_CONSOLE_CLOSED`, `ERR_ABORTED`.
   */
  logout(options?: CallOptions): Promise<void>;
  /**
   * Graceful: after the operations already called, logs out a logged-in shell
   * (as `logout()`, for at most `logoutTimeoutMs`; a failure is noted in the
   * transcript, not thrown) unless `logout: false`, removes the login
   * session's private directory (output files and all), and closes.
   * `destroy()` never logs out.
   */
  close(options?: SerialConsoleCloseOptions): Promise<void>;
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

const debug = debugLog("control");

/** Transcript characters attached to errors. */
const ERROR_TRANSCRIPT_CHARS = 4_096;
/** How long `close()` gives the shell to remove the private directory. */
const TIDY_UP_MS = 5_000;

/**
 * A serial console over `stream`, a connected socket to QEMU's serial chardev
 * (`-chardev socket,…,server=on` with `telnet=on` or a unix path), or any
 * duplex carrying the same bytes. Synchronous: nothing is sent until the first
 * operation. Invalid options throw `ERR_INVALID_ARGUMENT` and leave the stream
 * untouched.
 */
export function createSerialConsole(stream: Duplex, options?: SerialConsoleOptions): SerialConsole {
  return new DefaultSerialConsole(stream, consoleSettings(options));
}

class DefaultSerialConsole implements SerialConsole {
  readonly kind = "serial-console" as const;
  readonly #settings: ConsoleSettings;
  readonly #terminal: ConsoleTerminal;
  readonly #shell: ConsoleShell;
  readonly #queue = new OperationQueue();
  /** Set once `close()` has its turn: later operations reject. */
  #closing = false;
  #poweringDown = false;

  constructor(stream: Duplex, settings: ConsoleSettings) {
    this.#settings = settings;
    this.#terminal = new ConsoleTerminal(stream, settings, () => {
      this.#shell.loggedIn = false;
    });
    this.#shell = new ConsoleShell(this.#terminal, settings);
  }

  get closed(): Promise<CloseInfo> {
    return this.#terminal.session.closed;
  }

  get isClosed(): boolean {
    return this.#terminal.session.isClosed;
  }

  get isLoggedIn(): boolean {
    return this.#shell.loggedIn && !this.isClosed;
  }

  get buffer(): string {
    return this.#terminal.buffer.text;
  }

  transcript(maxChars?: number): string {
    return this.#terminal.transcript.text(maxChars);
  }

  /** Runs `work` alone (after the operations called before it), under the call's deadline. */
  #operation<T>(
    operation: string,
    options: CallOptions,
    defaultTimeoutMs: number,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return withDeadline(operation, options, { defaultTimeoutMs }, async (signal) => {
      const release = await this.#queue.acquire(signal);
      try {
        if (this.isClosed || this.#closing)
          throw new ConsoleClosedError({ operation, cause: this.#terminal.closeInfo?.error });
        return await work(signal);
      } finally {
        release();
      }
    }).catch((error: unknown) => {
      throw this.#withTranscript(error);
    });
  }

  /** The error as it leaves the console: timeouts as `ConsoleTimeoutError`, with the transcript. */
  #withTranscript(error: unknown): unknown {
    let shown = error;
    if (TimeoutError.isInstance(error) && !(error instanceof ConsoleTimeoutError))
      shown = new ConsoleTimeoutError({
        operation: error.operation,
        timeoutMs: error.timeoutMs,
        cause: error.cause,
      });
    attachTranscript(shown, () => this.#terminal.transcript.text(ERROR_TRANSCRIPT_CHARS));
    return shown;
  }

  write(data: string | Uint8Array, options?: CallOptions): Promise<void> {
    if (typeof data !== "string" && !(data instanceof Uint8Array))
      throw new InvalidArgumentError("data", "a string or a Uint8Array", data);
    const checked = checkCallOptions(options);
    return this.#operation("write", checked, EXPECT_TIMEOUT_MS, () => this.#terminal.write(data));
  }

  sendLine(line: string, options?: CallOptions): Promise<void> {
    if (typeof line !== "string") throw new InvalidArgumentError("line", "a string", line);
    return this.write(`${line}\n`, options);
  }

  expect(
    pattern: ExpectPattern | readonly ExpectPattern[],
    options?: CallOptions,
  ): Promise<ExpectMatch> {
    const { matcher, described } = compilePatterns(pattern);
    const checked = checkCallOptions(options);
    const name = `expect ${described}`;
    return this.#operation(name, checked, EXPECT_TIMEOUT_MS, (signal) => {
      const buffer = this.#terminal.buffer;
      buffer.checkOverflow();
      return buffer.wait(name, matcher, { signal });
    });
  }

  waitForOutput(
    pattern: ExpectPattern | readonly ExpectPattern[],
    options?: CallOptions,
  ): Promise<ExpectMatch> {
    const { matcher, described } = compilePatterns(pattern);
    const checked = checkCallOptions(options);
    const name = `waitForOutput ${described}`;
    const terminal = this.#terminal;
    const defaultTimeoutMs = EXPECT_TIMEOUT_MS;
    return withDeadline(name, checked, { defaultTimeoutMs }, (signal) =>
      terminal.watchers.wait(name, matcher, terminal.buffer.text, signal),
    ).catch((error: unknown) => {
      throw this.#withTranscript(error);
    });
  }

  resync(options?: CallOptions): Promise<void> {
    const checked = checkCallOptions(options);
    return this.#operation("resync", checked, this.#settings.recoveryTimeoutMs, async (signal) => {
      // At a login prompt, the marker line would be taken for a user name.
      if (!this.#shell.loggedIn) throw new ConsoleNotLoggedInError("resync()");
      await this.#shell.recover(signal, true);
      if (!this.#shell.synced)
        throw new ConsoleDesyncError(
          "the shell did not answer after Ctrl-C and Ctrl-\\: a program ignores them, or the shell itself is stuck",
        );
    });
  }

  login(options?: CallOptions): Promise<void> {
    const checked = checkCallOptions(options);
    return operations.trace("login", this.#settings.user, () =>
      this.#operation("login", checked, this.#settings.loginTimeoutMs, (signal) =>
        logIn({ terminal: this.#terminal, shell: this.#shell, settings: this.#settings, signal }),
      ),
    );
  }

  ready(options?: CallOptions): Promise<void> {
    return this.login(options);
  }

  run(command: string, options?: RunOptions): Promise<CommandResult> {
    checkText(command, "command");
    const checked = checkCallOptions(options);
    return operations.trace("run", excerpt(command, 80), () =>
      this.#operation(
        `run ${excerpt(command, 80)}`,
        checked,
        this.#settings.commandTimeoutMs,
        (signal) => {
          if (!this.#shell.loggedIn) throw new ConsoleNotLoggedInError("run()");
          return this.#shell.run(command, signal);
        },
      ),
    );
  }

  /** Runs a helper's command in the logged-in shell; a non-zero exit is `ERR_CONTROL_COMMAND`. */
  async #runHelper(caller: string, command: string, signal: AbortSignal): Promise<string> {
    if (!this.#shell.loggedIn) throw new ConsoleNotLoggedInError(`${caller}()`);
    const { exitCode, output } = await this.#shell.run(command, signal);
    if (exitCode !== 0) throw new ControlCommandError({ command, exitCode, output });
    return output;
  }

  networkInterfaces(options?: CallOptions): Promise<NetworkInterface[]> {
    const checked = checkCallOptions(options);
    const timeoutMs = this.#settings.commandTimeoutMs;
    const command = "ip -o link show && ip -o addr show";
    return this.#operation("networkInterfaces", checked, timeoutMs, async (signal) =>
      parseIpOutput(await this.#runHelper("networkInterfaces", command, signal)),
    );
  }

  waitForNetwork(options?: WaitForNetworkOptions): Promise<NetworkInterface[]> {
    return pollNetwork(this, options, this.#settings.commandTimeoutMs);
  }

  powerdown(options?: CallOptions): Promise<void> {
    const checked = checkCallOptions(options);
    const timeoutMs = this.#settings.commandTimeoutMs;
    return this.#operation("powerdown", checked, timeoutMs, async (signal) => {
      this.#poweringDown = true;
      try {
        await this.#runHelper("powerdown", "poweroff", signal);
      } catch (error) {
        if (ConsoleClosedError.isInstance(error)) return; // gone already
        // The guest is not going down: close() may log out and tidy up as usual.
        if (
          ControlCommandError.isInstance(error) ||
          ConsoleNotLoggedInError.isInstance(error) ||
          ConsoleScratchError.isInstance(error)
        )
          this.#poweringDown = false;
        throw error;
      }
    });
  }

  logout(options?: CallOptions): Promise<void> {
    const checked = checkCallOptions(options);
    return this.#operation("logout", checked, this.#settings.logoutTimeoutMs, (signal) =>
      logOut({ terminal: this.#terminal, shell: this.#shell, settings: this.#settings, signal }),
    );
  }

  close(options?: SerialConsoleCloseOptions): Promise<void> {
    const logout = closeOptions(options);
    // Queued behind the operations already called; then log out or tidy up, and close.
    return this.#terminal.session.close(async () => {
      const release = await this.#queue.acquire();
      this.#closing = true;
      try {
        const shell = this.#shell;
        if (!shell.loggedIn || !shell.synced || this.#poweringDown || this.isClosed) return;
        if (logout) await this.#logOutQuietly();
        else await removeDirectories(shell, AbortSignal.timeout(TIDY_UP_MS)).catch(() => {});
      } finally {
        release();
      }
    });
  }

  /** `logout()` for `close()`: bounded by `logoutTimeoutMs`, and a failure is only noted. */
  async #logOutQuietly(): Promise<void> {
    const timeoutMs = this.#settings.logoutTimeoutMs;
    const context = { terminal: this.#terminal, shell: this.#shell, settings: this.#settings };
    try {
      await withDeadline("logout", { timeoutMs }, {}, (signal) => logOut({ ...context, signal }));
    } catch (error) {
      const reason = TimeoutError.isInstance(error)
        ? `no login prompt within ${timeoutMs} ms`
        : (error as Error).message;
      this.#terminal.note(`closing without logging out: ${reason}`);
      debug("console: closing without logging out: %s", reason);
    }
  }

  destroy(reason?: Error): void {
    this.#terminal.session.destroy(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
