import { debugLog } from "@qemu-kvm/core";
import type { ConsoleSettings } from "./options.js";
import { matches, PromptTail } from "./prompt-tail.js";
import type { ConsoleShell } from "./shell.js";
import type { ConsoleTerminal } from "./terminal.js";

const debug = debugLog("control");

export interface LogoutContext {
  readonly terminal: ConsoleTerminal;
  readonly shell: ConsoleShell;
  readonly settings: ConsoleSettings;
  readonly signal: AbortSignal;
}

/**
 * Ends the logged-in shell: types `exit` (after removing the login session's
 * private directory, output files and all, when a command made it; and an
 * earlier login's left, if any) and resolves once the login prompt
 * shows. Once `exit` is typed the console no longer counts as logged in,
 * whether the prompt comes or not.
 * Nothing to do when not logged in. Rejects with the deadline's error, or
 * `ERR_CONSOLE_DESYNC` when an interrupted command still holds the terminal.
 *
 * One `exit`: a shell that commands nested (`su`, `sh`) gives back its parent's
 * prompt, not a login prompt, and the deadline passes. Typing `exit` again on a
 * prompt would be unsafe: the previous command's prompt can arrive after the
 * typed line (the tty echoes type-ahead), and a second `exit` at a login prompt
 * becomes a user name.
 */
export async function logOut(context: LogoutContext): Promise<void> {
  const { terminal, shell, settings, signal } = context;
  if (!shell.loggedIn) return;
  await shell.ensureSynced(signal);
  // The private directories (none if no command ran): the last removal on exit's line.
  const removals = shell.removalLines;
  const last = removals.pop();
  for (const line of removals) await shell.typeAndSync(line, signal);
  const buffer = terminal.buffer;
  buffer.clear();
  buffer.resetOverflow();
  await terminal.write(last ? `${last}; exit\n` : "exit\n");
  shell.loggedIn = false;
  shell.endSession();
  terminal.note("logging out");
  const tail = new PromptTail(settings.filterKernelMessages);
  await buffer.wait(
    "logout",
    (view) => {
      const step = tail.step(view.text);
      // The prompt's line stays unread: a login() that follows answers it at once.
      return { consume: step.consume, done: matches(settings.loginPrompt, step.view) };
    },
    { signal },
  );
  terminal.note("logged out");
  debug("console: logged out");
}

/**
 * Removes the login session's private directory (and any earlier one left;
 * nothing when no command made one), for `close({ logout: false })`.
 */
export async function removeDirectories(shell: ConsoleShell, signal: AbortSignal): Promise<void> {
  for (const line of shell.removalLines) await shell.typeAndSync(line, signal);
  shell.endSession();
}
