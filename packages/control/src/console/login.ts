import { debugLog, TimeoutError } from "@qemu-kvm/core";
import { ConsoleLoginError, ConsoleNotGuestError } from "./errors.js";
import type { ConsoleSettings } from "./options.js";
import { matches, PromptTail } from "./prompt-tail.js";
import type { ConsoleShell } from "./shell.js";
import type { ConsoleTerminal } from "./terminal.js";

const debug = debugLog("control");

/** How long login waits for the marker after it saw something like a shell prompt. */
const SHELL_CHECK_MS = 10_000;

/** What the end of the console output shows. */
type LoginState =
  | { kind: "login" }
  | { kind: "password"; forUser: boolean }
  | { kind: "shell" }
  | { kind: "failed" };

export interface LoginContext {
  readonly terminal: ConsoleTerminal;
  readonly shell: ConsoleShell;
  readonly settings: ConsoleSettings;
  readonly signal: AbortSignal;
}

/**
 * Gets to a verified shell prompt from whatever the console shows: answers a
 * login prompt, a password prompt (only after our own user name), or checks a
 * shell prompt with a marker; nudges a silent console. The marker's line also
 * sets the shell up for the run protocol and runs the guest identity check.
 */
export async function logIn(context: LoginContext): Promise<void> {
  await new LoginAttempt(context).run();
}

/** One step of the login: true when logged in. */
type Handler<K extends LoginState["kind"]> = (
  attempt: LoginAttempt,
  state: Extract<LoginState, { kind: K }>,
) => Promise<boolean>;

const HANDLERS: { [K in LoginState["kind"]]: Handler<K> } = {
  failed: (attempt) => attempt.refused(),
  login: (attempt) => attempt.typeUser(),
  password: (attempt, state) => attempt.typePassword(state.forUser),
  shell: (attempt) => attempt.checkShell(),
};

class LoginAttempt {
  readonly #context: LoginContext;
  /** The end of the output, read a line at a time (never all of it again on each arrival). */
  readonly #tail: PromptTail;
  /** `loginFailed` showed after our password. */
  #refused = false;
  #sentUser = false;
  #passwordsSent = 0;
  #nudges = 0;

  constructor(context: LoginContext) {
    this.#context = context;
    this.#tail = new PromptTail(context.settings.filterKernelMessages);
  }

  async run(): Promise<void> {
    const { shell, terminal } = this.#context;
    shell.loggedIn = false;
    terminal.buffer.resetOverflow();
    // Nothing shown yet (a late connection to an idle console): ask for a prompt at once.
    if (terminal.buffer.text.trim() === "") await this.#nudge();
    for (;;) {
      const state = await this.#nextState();
      if (!state) continue;
      debug("console: login sees %s", state.kind);
      const handler = HANDLERS[state.kind] as Handler<LoginState["kind"]>;
      if (await handler(this, state)) return;
    }
  }

  /** The next prompt (or failure) shown; undefined after a quiet while (with a nudge). */
  async #nextState(): Promise<LoginState | undefined> {
    const { terminal, settings, signal } = this.#context;
    try {
      return await terminal.buffer.wait(
        "login",
        (view) => {
          const step = this.#tail.step(view.text);
          const found = this.#classify(step.view, step.lines);
          if (!found) return { consume: step.consume, done: false };
          // Answered: what was read is done with.
          this.#tail.reset();
          return { consume: view.length, done: true, value: found };
        },
        { signal, timeoutMs: settings.nudgeIntervalMs },
      );
    } catch (error) {
      if (signal.aborted || !TimeoutError.isInstance(error)) throw error;
      // Quiet for a while with no prompt in sight: provoke one.
      if (performance.now() - terminal.lastInputAt >= settings.nudgeIntervalMs * 0.9)
        await this.#nudge();
      return undefined;
    }
  }

  /**
   * What the end of the console output shows (`view`: the last line and the
   * unfinished one, kernel messages and escapes removed); `lines`: the lines
   * read since the last look, where a refusal may show.
   */
  #classify(view: string, lines: string): LoginState | undefined {
    const settings = this.#context.settings;
    if (this.#passwordsSent > 0 && !this.#refused)
      this.#refused = matches(settings.loginFailed, lines) || matches(settings.loginFailed, view);
    if (this.#refused) return { kind: "failed" };
    if (view === "\n") return undefined;
    if (matches(settings.passwordPrompt, view)) {
      // Whose password: the line typed before the prompt (`guest login: root`).
      const before = view.slice(0, view.indexOf("\n"));
      const typed = before.replace(/^.*login: */, "").trim();
      return { kind: "password", forUser: typed === settings.user };
    }
    if (matches(settings.loginPrompt, view)) return { kind: "login" };
    if (matches(settings.shellPrompt, view)) return { kind: "shell" };
    return undefined;
  }

  #nudge(): Promise<void> {
    // Mostly a bare newline; every third time Ctrl-C, in case a program holds the terminal.
    return this.#context.terminal.write(this.#nudges++ % 3 === 2 ? "\x03" : "\n");
  }

  async refused(): Promise<boolean> {
    const user = this.#context.settings.user;
    throw new ConsoleLoginError(`the guest refused the login of ${user}`, { user });
  }

  async typeUser(): Promise<boolean> {
    await this.#context.terminal.write(`${this.#context.settings.user}\n`);
    this.#sentUser = true;
    return false;
  }

  async typePassword(forUser: boolean): Promise<boolean> {
    const { terminal, settings } = this.#context;
    const user = settings.user;
    if (!this.#sentUser && !forUser) {
      // Someone else's half-done login: end it (an empty password fails) and start over.
      terminal.note("a password prompt for an unknown user: ending it");
      await terminal.write("\n");
      return false;
    }
    if (settings.password === undefined)
      throw new ConsoleLoginError(`the guest asks for ${user}'s password and none is configured`, {
        user,
      });
    if (this.#passwordsSent > 0)
      throw new ConsoleLoginError(`the guest asked for ${user}'s password again`, { user });
    await terminal.write(`${settings.password}\n`, { secret: true });
    this.#passwordsSent++;
    this.#sentUser = false;
    return false;
  }

  /**
   * A shell prompt is only a hint: a marker must come back. The same line sets
   * the shell up and runs the identity command (one round trip).
   */
  async checkShell(): Promise<boolean> {
    const { shell, terminal, settings, signal } = this.#context;
    const identity = settings.guestIdentity === false ? undefined : settings.guestIdentity;
    const started = await shell.startSession(identity, signal, SHELL_CHECK_MS);
    if (!started.shell) return false;
    if (identity && started.identity) {
      const output = started.identity.output.trim();
      const exitCode = started.identity.exitCode;
      if (!identity.accepts(output, exitCode))
        throw new ConsoleNotGuestError({ check: identity.description, exitCode, output });
    }
    shell.loggedIn = true;
    shell.synced = true;
    terminal.note("logged in");
    return true;
  }
}
