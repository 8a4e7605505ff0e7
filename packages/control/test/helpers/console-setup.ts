import { test as base } from "@qemu-kvm/testkit/fixtures";
import {
  createSerialConsole,
  type SerialConsole,
  type SerialConsoleOptions,
} from "../../src/index.js";
import { type FakeCommand, FakeShell, type FakeShellOptions } from "./fake-shell.js";

/** The password of the fake guest's root. */
export const PASSWORD = "s3cret-pw";

export interface ConsolePair {
  peer: FakeShell;
  console: SerialConsole;
}

export interface Consoles {
  /** A console on a fake guest (nudging every 200 ms), not logged in. */
  setUp(shell?: FakeShellOptions, options?: SerialConsoleOptions): ConsolePair;
  /** A console on a fake guest's shell, logged in; `commands` says what each command does. */
  loggedIn(
    commands: (command: string) => FakeCommand,
    shell?: FakeShellOptions,
    options?: SerialConsoleOptions,
  ): Promise<ConsolePair>;
  /** A console of one's own on `peer`, destroyed with the others. */
  open(peer: FakeShell, options?: SerialConsoleOptions): SerialConsole;
}

/** `test` with `consoles`: every console made through it is destroyed after the test, pass or fail. */
export const test = base.extend("consoles", async ({}, { onCleanup }): Promise<Consoles> => {
  const made: SerialConsole[] = [];
  const open = (peer: FakeShell, options: SerialConsoleOptions = {}) => {
    const console = createSerialConsole(peer, options);
    made.push(console);
    return console;
  };
  const setUp = (shell: FakeShellOptions = {}, options: SerialConsoleOptions = {}) => {
    const peer = new FakeShell({ password: PASSWORD, ...shell });
    return { peer, console: open(peer, { password: PASSWORD, nudgeIntervalMs: 200, ...options }) };
  };
  const loggedIn = async (
    commands: (command: string) => FakeCommand,
    shell: FakeShellOptions = {},
    options: SerialConsoleOptions = {},
  ) => {
    const pair = setUp({ state: "shell", commands, ...shell }, options);
    await pair.console.login();
    return pair;
  };
  onCleanup(() => {
    for (const console of made) console.destroy();
  });
  return { setUp, loggedIn, open };
});
