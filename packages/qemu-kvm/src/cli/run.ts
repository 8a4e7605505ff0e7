/**
 * The command from its arguments to its exit status: parse, run the verb,
 * report an error on stderr. Never throws; never exits the process itself.
 */
import { runArgv } from "./argv.js";
import { runConsole } from "./console.js";
import { runDemo } from "./demo.js";
import { runExec } from "./exec.js";
import { exitCodeFor } from "./exit-codes.js";
import type { Invocation, Verb } from "./invocation.js";
import { type CliIo, write } from "./io.js";
import { runMonitor } from "./monitor.js";
import { parseCommandLine } from "./program.js";
import { runPs } from "./ps.js";
import { formatError } from "./report.js";
import { runStart } from "./start.js";
import { runStop } from "./stop.js";

const VERBS: { readonly [V in Verb]: (invocation: never, io: CliIo) => Promise<number> } = {
  start: runStart,
  ps: runPs,
  exec: runExec,
  console: runConsole,
  monitor: runMonitor,
  stop: runStop,
  argv: runArgv,
  demo: runDemo,
};

function verbOf(error: unknown): Verb | undefined {
  const verb = (error as { verb?: unknown } | null)?.verb;
  return typeof verb === "string" && verb in VERBS ? (verb as Verb) : undefined;
}

/** Runs the command line `argv` (without node and the script); resolves its exit status. */
export async function run(argv: readonly string[], io: CliIo, version?: string): Promise<number> {
  let invocation: Invocation | undefined;
  try {
    const parsed = parseCommandLine(argv, io.env, version);
    if (parsed.kind === "print") {
      await write(parsed.to === "stdout" ? io.stdout : io.stderr, parsed.text);
      return parsed.exitCode;
    }
    invocation = parsed.invocation;
    const verb = VERBS[invocation.verb] as (invocation: Invocation, io: CliIo) => Promise<number>;
    return await verb(invocation, io);
  } catch (error) {
    await write(io.stderr, formatError(error, invocation?.verb)).catch(() => {});
    return exitCodeFor(error, invocation?.verb ?? verbOf(error), io.signal.aborted);
  }
}
