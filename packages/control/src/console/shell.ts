import { randomBytes } from "node:crypto";
import { AbortError, debugLog, preview, TimeoutError } from "@qemu-kvm/core";
import type { CommandResult } from "../control-channel.js";
import {
  ConsoleDesyncError,
  ConsoleLoggedOutError,
  ConsoleNotLoggedInError,
  ConsoleOutputError,
  ConsoleScratchError,
} from "./errors.js";
import type { ConsoleSettings } from "./options.js";
import {
  identityParser,
  LoggedOutSignal,
  MissingFunctionSignal,
  type RunTransfer,
  runParser,
  syncParser,
} from "./run-parser.js";
import {
  deliverCommand,
  identityFileLine,
  loginLine,
  MAX_LINE_CHARS,
  privateDirectoryName,
  runLine,
  syncLine,
  syncMarker,
  TRANSFER_FUNCTION,
  transferScript,
} from "./run-protocol.js";
import type { ConsoleTerminal } from "./terminal.js";

const debug = debugLog("control");

/** Transfers of one output, the first included. */
const TRANSFER_ATTEMPTS = 3;

function newToken(): string {
  return randomBytes(8).toString("hex");
}

/** The identity command's run line, when the command can be typed inline. */
function identityLine(
  command: string | undefined,
  token: string,
  file: string,
  maxOutputBytes: number,
): string | undefined {
  if (command === undefined) return undefined;
  const delivery = deliverCommand(command);
  if (delivery.preludes.length > 0) return undefined;
  const evalWords = delivery.evalWords;
  return runLine({ evalWords, token, file, previousFile: undefined, maxOutputBytes });
}

function result(
  transfer: Extract<RunTransfer, { kind: "output" }>,
  started: number,
): CommandResult {
  return {
    exitCode: transfer.exitCode,
    signal: null,
    output: transfer.output.toString("utf8"),
    outputBytes: transfer.output,
    outputTruncated: transfer.truncated,
    durationMs: performance.now() - started,
  };
}

/**
 * The logged-in shell behind a console, driven with the run protocol (see
 * `run-protocol.ts`): runs commands, types lines and waits for their marker,
 * and gets the shell back after an interrupted command. Knows whether it is
 * logged in and in step; the console decides when each of these runs.
 */
export class ConsoleShell {
  readonly #terminal: ConsoleTerminal;
  readonly #settings: ConsoleSettings;
  /** This login session's private directory for output files (see `startSession`). */
  #directory: string | undefined;
  #runs = 0;
  #lastFile: string | undefined;
  /** True once logged in (until the shell exits or the console closes). */
  loggedIn = false;
  /** False after an interrupted command until a marker came back. */
  synced = true;

  constructor(terminal: ConsoleTerminal, settings: ConsoleSettings) {
    this.#terminal = terminal;
    this.#settings = settings;
  }

  /** This login session's private directory (made at login, removed at logout and `close()`). */
  get directory(): string | undefined {
    return this.#directory;
  }

  /** The private directory was removed (logout, close): forget it. */
  endSession(): void {
    this.#directory = undefined;
    this.#lastFile = undefined;
  }

  /**
   * Runs `command` and resolves with its status and output. On timeout or
   * abort it puts the shell back in order (Ctrl-C…) before it rejects.
   */
  async run(command: string, signal: AbortSignal): Promise<CommandResult> {
    await this.ensureSynced(signal);
    const started = performance.now();
    const delivery = deliverCommand(command);
    return this.#guarded(command, async () => {
      if (!this.#directory) throw new ConsoleNotLoggedInError("run()");
      const file = `${this.#directory}/${++this.#runs}`;
      const previousFile = this.#lastFile;
      this.#lastFile = file;
      for (const prelude of delivery.preludes) await this.typeAndSync(prelude, signal);
      const buffer = this.#terminal.buffer;
      buffer.clear();
      buffer.resetOverflow();
      const token = newToken();
      const maxOutputBytes = this.#settings.maxOutputBytes;
      const line = runLine({
        evalWords: delivery.evalWords,
        token,
        file,
        previousFile,
        maxOutputBytes,
      });
      await this.#terminal.write(`${line}\n`);
      return result(await this.#transfer(token, command, file, signal), started);
    });
  }

  /** `work` (a run of `command`), its failures as the console reports them. */
  async #guarded<T>(command: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof LoggedOutSignal) {
        this.loggedIn = false;
        this.#terminal.note("the shell exited");
        throw new ConsoleLoggedOutError({ command });
      }
      if (AbortError.isInstance(error) || TimeoutError.isInstance(error)) {
        // The caller has its answer already; put the shell back in order before the next operation.
        await this.recover(undefined, true);
      }
      throw error;
    }
  }

  /**
   * Sets a shell up for the run protocol, in one round trip: one line (see
   * `loginLine`) defines `__qk`, makes this login session's private directory
   * (removing the previous session's, if it was never removed) and runs the
   * identity command into its first file; the reply is the marker that says
   * whether the directory was made, then the identity command's transfer.
   * The marker must come within `shellCheckMs`, or this was no shell:
   * `{ shell: false }`. `ERR_CONSOLE_SCRATCH` if the directory cannot be made.
   * An identity command too long for the line runs after, with `run()`.
   */
  async startSession(
    identityCheck: { readonly command: string; readonly file?: string } | undefined,
    signal: AbortSignal,
    shellCheckMs: number,
  ): Promise<{ shell: false } | { shell: true; identity?: CommandResult }> {
    const started = performance.now();
    const scratch = this.#settings.scratchDirectory;
    const directory = privateDirectoryName(scratch, randomBytes(6).toString("hex"));
    const [made, failed, token] = [newToken(), newToken(), newToken()];
    const file = `${directory}/0`;
    const identityCommand = identityCheck?.command;
    const identityFile = identityCheck?.file;
    const identity =
      identityFile !== undefined
        ? identityFileLine(identityFile, token)
        : identityLine(identityCommand, token, file, this.#settings.maxOutputBytes);
    let line = loginLine({ directory, stale: this.#directory, made, failed, next: identity });
    const inline = identity !== undefined && line.length <= MAX_LINE_CHARS;
    if (!inline) line = loginLine({ directory, stale: this.#directory, made, failed });
    // Asked for: if no marker comes, the next login removes it (should the shell make it late).
    this.endSession();
    this.#directory = directory;
    this.#runs = 0;
    this.#terminal.buffer.clear();
    await this.#terminal.write(`${line}\n`);
    const marker = await this.#shellCheck([made, failed], signal, shellCheckMs);
    if (marker === undefined) return { shell: false };
    this.synced = true;
    if (marker !== syncMarker(made)) {
      this.#directory = undefined; // not ours
      throw new ConsoleScratchError({ directory: scratch });
    }
    if (identityCommand === undefined) return { shell: true };
    if (!inline) return { shell: true, identity: await this.run(identityCommand, signal) };
    if (identityFile !== undefined)
      return { shell: true, identity: await this.#identityRead(token, started, signal) };
    this.#lastFile = file;
    return {
      shell: true,
      identity: await this.#guarded(identityCommand, async () =>
        result(await this.#transfer(token, identityCommand, file, signal), started),
      ),
    };
  }

  /** The reply of the login line's `identityFileLine`, as a command's result. */
  async #identityRead(token: string, started: number, signal: AbortSignal): Promise<CommandResult> {
    const parser = identityParser(token, this.#settings.filterKernelMessages);
    const read = await this.#terminal.buffer.wait("login: identity", (view) => parser(view.text), {
      signal,
      timeoutMs: Number.POSITIVE_INFINITY,
    });
    const outputBytes = Buffer.from(read.output, "utf8");
    return {
      exitCode: read.exitCode,
      signal: null,
      output: read.output,
      outputBytes,
      outputTruncated: false,
      durationMs: performance.now() - started,
    };
  }

  /** The marker of `tokens` that came back within `timeoutMs`; undefined if none did. */
  async #shellCheck(
    tokens: string[],
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<string | undefined> {
    try {
      const parser = syncParser(tokens, this.#settings.filterKernelMessages);
      return await this.#terminal.buffer.wait("login: shell check", (view) => parser(view.text), {
        signal,
        timeoutMs,
      });
    } catch (error) {
      if (signal.aborted || !TimeoutError.isInstance(error)) throw error;
      this.#terminal.note("no marker from what looked like a shell prompt");
      return undefined;
    }
  }

  /**
   * Receives the transfer that the run line with `token` started: again from
   * the file when it arrived damaged, and after defining the transfer function
   * again when the shell lost it (the command ran `exec sh`, `su`…).
   */
  async #transfer(
    firstToken: string,
    command: string,
    file: string,
    signal: AbortSignal,
  ): Promise<Extract<RunTransfer, { kind: "output" }>> {
    const maxOutputBytes = this.#settings.maxOutputBytes;
    let token = firstToken;
    let redefined = false;
    let transfer: RunTransfer;
    for (let attempt = 1; ; ) {
      try {
        transfer = await this.#receive(token, command, signal);
      } catch (error) {
        if (!(error instanceof MissingFunctionSignal) || redefined) throw error;
        // The command ran, but in a shell that lacks our function.
        redefined = true;
        this.#terminal.note("the shell lost the transfer function: defining it again");
        await this.typeAndSync(TRANSFER_FUNCTION, signal);
        token = newToken();
        await this.#terminal.write(`${transferScript(token, file, maxOutputBytes)}\n`);
        continue;
      }
      if (transfer.kind !== "corrupt" || attempt >= TRANSFER_ATTEMPTS) break;
      attempt++;
      this.#terminal.note(`output transfer damaged (${transfer.reason}): sending it again`);
      debug("console: output transfer damaged (%s), attempt %d", transfer.reason, attempt);
      token = newToken();
      await this.#terminal.write(`${transferScript(token, file, maxOutputBytes)}\n`);
    }
    if (transfer.kind === "corrupt")
      throw new ConsoleOutputError(
        `the output of ${JSON.stringify(command)} was damaged on the console ${TRANSFER_ATTEMPTS} times: ${transfer.reason}`,
        { reason: "corrupt", command, exitCode: transfer.exitCode ?? -1 },
      );
    if (transfer.kind === "lost")
      throw new ConsoleOutputError(
        `the output file of ${JSON.stringify(command)} was missing (the command removed it, or ${this.#settings.scratchDirectory} is not writable); exit code ${transfer.exitCode}`,
        { reason: "lost", command, exitCode: transfer.exitCode },
      );
    return transfer;
  }

  #receive(token: string, command: string, signal: AbortSignal): Promise<RunTransfer> {
    const parser = runParser({
      token,
      maxOutputBytes: this.#settings.maxOutputBytes,
      filterKernelMessages: this.#settings.filterKernelMessages,
      loginPrompt: this.#settings.loginPrompt,
      onKernelMessage: (message) => {
        this.#terminal.note(`kernel message cut out of the output: ${message.trimEnd()}`);
        debug("console: kernel message cut out: %s", preview(message));
      },
    });
    return this.#terminal.buffer.wait(`run ${preview(command, 80)}`, (view) => parser(view.text), {
      signal,
    });
  }

  /** Types `line` followed by a marker; resolves once the marker came back. */
  async typeAndSync(line: string, signal: AbortSignal): Promise<void> {
    const token = newToken();
    this.#terminal.buffer.clear();
    await this.#terminal.write(`${line}; ${syncLine(token)}\n`);
    const parser = syncParser([token], this.#settings.filterKernelMessages);
    await this.#terminal.buffer.wait("type a command piece", (view) => parser(view.text), {
      signal,
    });
  }

  /** Throws `ERR_CONSOLE_DESYNC` unless the shell is in step (or can be brought back). */
  async ensureSynced(signal: AbortSignal): Promise<void> {
    if (this.synced) return;
    await this.recover(signal, true);
    if (!this.synced)
      throw new ConsoleDesyncError(
        "the console is out of step: an interrupted command still holds the terminal, or the shell itself is stuck (no marker after Ctrl-C and Ctrl-\\)",
      );
  }

  /**
   * Interrupts whatever runs (Ctrl-C, Ctrl-C, then Ctrl-\), each time followed
   * by a marker line, until a marker comes back. Sets `synced`. Bounded by
   * `recoveryTimeoutMs` (and `signal`, if given); never rejects except on abort.
   */
  async recover(signal: AbortSignal | undefined, interrupt: boolean): Promise<void> {
    this.synced = false;
    const keys = interrupt ? ["\x03", "\x03", "\x1c"] : [""];
    const tokens: string[] = [];
    this.#terminal.note("interrupting");
    for (const key of keys) {
      if (this.#terminal.session.isClosed) return;
      const token = newToken();
      tokens.push(token);
      try {
        if (key) await this.#terminal.write(key);
        await this.#terminal.write(`${syncLine(token)}\n`);
        const parser = syncParser(tokens, this.#settings.filterKernelMessages);
        await this.#terminal.buffer.wait("resynchronize", (view) => parser(view.text), {
          signal,
          timeoutMs: this.#settings.recoveryTimeoutMs / keys.length,
        });
        this.synced = true;
        this.#terminal.note("back at the shell");
        return;
      } catch (error) {
        if (signal?.aborted) throw error;
        if (!TimeoutError.isInstance(error)) return; // closed
      }
    }
    this.#terminal.note("the shell did not come back");
  }
}
