import { randomBytes } from "node:crypto";
import { AbortError, TimeoutError } from "@qemu-kvm/core";
import type { CommandResult } from "../control-channel.js";
import { ConsoleDesyncError, ConsoleLoggedOutError, ConsoleScratchError } from "./errors.js";
import type { ConsoleSettings } from "./options.js";
import { commandResult, newToken, receiveOutput, type TransferContext } from "./output-transfer.js";
import { identityParser, LoggedOutSignal, syncParser } from "./run-parser.js";
import {
  deliverCommand,
  identityFileLine,
  MAX_LINE_CHARS,
  MAX_STALE_PER_SETUP,
  privateDirectoryName,
  removalLines,
  runLine,
  setupLine,
  syncLine,
  syncMarker,
} from "./run-protocol.js";
import type { ConsoleTerminal } from "./terminal.js";

/** What the set-up line needs: its directory, what it removes first, its markers. */
interface Setup {
  directory: string;
  stale: string[];
  made: string;
  failed: string;
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
  /** This login session's private directory, once a set-up line asked for it. */
  #directory: string | undefined;
  /** `__qk` defined and `#directory` made in this login's shell (the set-up's marker came). */
  #prepared = false;
  /** Earlier directories of this console not known to be removed (an earlier login's…). */
  #stale: string[] = [];
  #runs = 0;
  #lastFile: string | undefined;
  /** True once logged in (until the shell exits or the console closes). */
  loggedIn = false;
  /** False after an interrupted command until a marker came back. */
  synced = true;

  /** What receiving output needs (see `receiveOutput`). */
  readonly #io: TransferContext;

  constructor(terminal: ConsoleTerminal, settings: ConsoleSettings) {
    this.#terminal = terminal;
    this.#settings = settings;
    this.#io = {
      terminal,
      settings,
      typeAndSync: (line, signal) => this.typeAndSync(line, signal),
    };
  }

  /**
   * The lines that remove this login session's private directory and any
   * earlier one left (for logout and `close()`; none when no command ran).
   */
  get removalLines(): string[] {
    const directories = [...this.#stale];
    if (this.#directory) directories.push(this.#directory);
    return removalLines(directories);
  }

  /** The private directories were removed (logout, close): forget them. */
  endSession(): void {
    this.#directory = undefined;
    this.#stale = [];
    this.#prepared = false;
    this.#lastFile = undefined;
  }

  /**
   * Runs `command` and resolves with its status and output; the first run of a
   * login sets the shell up (see `setupLine`), on the same line when it fits.
   * On timeout or abort it puts the shell back in order (Ctrl-C…) before it
   * rejects. `ERR_CONSOLE_SCRATCH` when the private directory cannot be made.
   */
  async run(command: string, signal: AbortSignal): Promise<CommandResult> {
    await this.ensureSynced(signal);
    const started = performance.now();
    const delivery = deliverCommand(command);
    return this.#guarded(command, async () => {
      for (const prelude of delivery.preludes) await this.typeAndSync(prelude, signal);
      const setup = this.#prepared ? undefined : this.#newSetup();
      const file = `${this.#directory}/${++this.#runs}`;
      const previousFile = this.#lastFile;
      this.#lastFile = file;
      const token = newToken();
      const maxOutputBytes = this.#settings.maxOutputBytes;
      const evalWords = delivery.evalWords;
      const line = runLine({ evalWords, token, file, previousFile, maxOutputBytes });
      let echoed = false;
      if (setup) {
        const together = setupLine({ ...setup, next: line });
        echoed = together.length <= MAX_LINE_CHARS;
        await this.#typeLine(echoed ? together : setupLine(setup));
        const parser = syncParser([setup.made, setup.failed], this.#settings.filterKernelMessages);
        this.#setupAnswered(
          setup,
          await this.#terminal.buffer.wait("set up the shell", (view) => parser(view.text), {
            signal,
          }),
        );
      }
      if (!echoed) await this.#typeLine(line);
      return commandResult(
        await receiveOutput(this.#io, { token, command, file, echoed }, signal),
        started,
      );
    });
  }

  /** Clears the unread output and types `line`. */
  async #typeLine(line: string): Promise<void> {
    const buffer = this.#terminal.buffer;
    buffer.clear();
    buffer.resetOverflow();
    await this.#terminal.write(`${line}\n`);
  }

  /**
   * A set-up for a new private directory (the one asked for before, made or
   * not, is now stale). The directory counts as asked for from now on: should
   * no marker come, it is removed with the stale ones.
   */
  #newSetup(): Setup {
    if (this.#directory) this.#stale.push(this.#directory);
    const random = randomBytes(6).toString("hex");
    this.#directory = privateDirectoryName(this.#settings.scratchDirectory, random);
    this.#prepared = false;
    this.#runs = 0;
    this.#lastFile = undefined;
    const stale = this.#stale.slice(0, MAX_STALE_PER_SETUP);
    return { directory: this.#directory, stale, made: newToken(), failed: newToken() };
  }

  /** The set-up's `marker` came: the shell is set up, or `ERR_CONSOLE_SCRATCH`. */
  #setupAnswered(setup: Setup, marker: string): void {
    this.#stale = this.#stale.filter((directory) => !setup.stale.includes(directory));
    if (marker !== syncMarker(setup.made)) {
      this.#directory = undefined; // not ours
      this.#lastFile = undefined;
      throw new ConsoleScratchError({ directory: this.#settings.scratchDirectory });
    }
    this.#prepared = true;
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
   * Checks that a shell answers, in one line and one reply: a marker, and the
   * guest identity check with it. Sets nothing up (the first `run()` does):
   * an identity file is read with the shell's `read`, and only an identity
   * command (no file) needs the set-up, on the same line (see `setupLine`;
   * `ERR_CONSOLE_SCRATCH` if the directory cannot be made). The reply must
   * come within `shellCheckMs`, or this was no shell: `{ shell: false }`.
   */
  async startSession(
    identityCheck: { readonly command: string; readonly file?: string } | undefined,
    signal: AbortSignal,
    shellCheckMs: number,
  ): Promise<{ shell: false } | { shell: true; identity?: CommandResult }> {
    const started = performance.now();
    // Perhaps a new shell (without `__qk`): the next run sets it up, with a new directory.
    if (this.#directory) this.#stale.push(this.#directory);
    this.#directory = undefined;
    this.#prepared = false;
    this.#lastFile = undefined;
    if (identityCheck?.file === undefined && identityCheck?.command !== undefined)
      return this.#startWithCommand(identityCheck.command, signal, shellCheckMs, started);
    const token = newToken();
    const filter = this.#settings.filterKernelMessages;
    this.#terminal.buffer.clear();
    if (identityCheck?.file === undefined) {
      await this.#terminal.write(`${syncLine(token)}\n`);
      const marker = await this.#shellCheck(syncParser([token], filter), signal, shellCheckMs);
      return marker === undefined ? { shell: false } : this.#shellFound({});
    }
    await this.#terminal.write(`${identityFileLine(identityCheck.file, token)}\n`);
    const read = await this.#shellCheck(identityParser(token, filter), signal, shellCheckMs);
    if (read === undefined) return { shell: false };
    const outputBytes = Buffer.from(read.output, "utf8");
    const durationMs = performance.now() - started;
    const identity = { ...read, signal: null, outputBytes, outputTruncated: false, durationMs };
    return this.#shellFound({ identity });
  }

  #shellFound<T extends object>(found: T): T & { shell: true } {
    this.synced = true;
    return { ...found, shell: true };
  }

  /**
   * `startSession` with an identity command: the set-up line, and the command
   * on it when it fits (else run after it, with `run()`).
   */
  async #startWithCommand(
    command: string,
    signal: AbortSignal,
    shellCheckMs: number,
    started: number,
  ): Promise<{ shell: false } | { shell: true; identity: CommandResult }> {
    const setup = this.#newSetup();
    const delivery = deliverCommand(command);
    const [token, file] = [newToken(), `${setup.directory}/${this.#runs + 1}`];
    const maxOutputBytes = this.#settings.maxOutputBytes;
    const evalWords = delivery.evalWords;
    const next = runLine({ evalWords, token, file, previousFile: undefined, maxOutputBytes });
    let line = setupLine({ ...setup, next });
    const together = delivery.preludes.length === 0 && line.length <= MAX_LINE_CHARS;
    if (!together) line = setupLine(setup);
    await this.#typeLine(line);
    const filter = this.#settings.filterKernelMessages;
    const parser = syncParser([setup.made, setup.failed], filter);
    const marker = await this.#shellCheck(parser, signal, shellCheckMs);
    if (marker === undefined) return { shell: false };
    this.synced = true;
    this.#setupAnswered(setup, marker);
    if (!together) return { shell: true, identity: await this.run(command, signal) };
    this.#runs++;
    this.#lastFile = file;
    return {
      shell: true,
      identity: await this.#guarded(command, async () =>
        commandResult(
          await receiveOutput(this.#io, { token, command, file, echoed: true }, signal),
          started,
        ),
      ),
    };
  }

  /** What `parser` found within `timeoutMs` (the login's shell check); undefined if nothing. */
  async #shellCheck<T>(
    parser: (text: string) => { consume: number; done: boolean; value?: T },
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<T | undefined> {
    try {
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
