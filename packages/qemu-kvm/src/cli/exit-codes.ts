/**
 * The command's exit statuses (the README's table). `exec` passes the guest
 * command's own status through, so its own failures use 125 (as `docker run`
 * does), a status shells leave alone: 126 and 127 mean "cannot run" and "not
 * found" and 128 + N a signal, all of which a guest command may report.
 */
import { DtsConfigError, InvalidSpecError } from "@qemu-kvm/bootline";
import { AbortError, InvalidArgumentError } from "@qemu-kvm/core";
import type { Verb } from "./invocation.js";

export const EXIT = {
  /** The verb did what it was asked. */
  ok: 0,
  /** A VM or library error: the code and what to do are on stderr. */
  failed: 1,
  /** The command line (or a file it names) is wrong: nothing was started. */
  usage: 2,
  /** `exec` only: the command did not complete in the guest (a usage, VM or library error, or an interrupt). */
  execFailed: 125,
  /** Interrupted by SIGINT (Ctrl-C): what was started is stopped first. */
  interrupted: 130,
} as const;

/** Errors that mean the command line (or the spec it names) is wrong: the user's to fix before anything runs. */
function isUsage(error: unknown): boolean {
  return (
    InvalidArgumentError.isInstance(error) ||
    InvalidSpecError.isInstance(error) ||
    DtsConfigError.isInstance(error)
  );
}

/** The exit status for an error of `verb` (undefined: before a verb was known). */
export function exitCodeFor(error: unknown, verb: Verb | undefined, interrupted: boolean): number {
  if (verb === "exec") return EXIT.execFailed;
  if (interrupted || AbortError.isInstance(error)) return EXIT.interrupted;
  return isUsage(error) ? EXIT.usage : EXIT.failed;
}
