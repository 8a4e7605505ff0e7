import {
  type CallOptions,
  checkCallOptions,
  checkObject,
  debugLog,
  delay,
  InvalidArgumentError,
  linuxSignalName,
  withDeadline,
} from "@qemu-kvm/core";
import type { CommandResult } from "../control-channel.js";
import { checkText } from "../options.js";

const debug = debugLog("control");

export interface GuestExecOptions extends CallOptions {
  /**
   * The process's whole environment, `{ NAME: "value" }`. The agent cannot add
   * to its own environment: with `env`, the process gets exactly these
   * variables (pass `PATH` too); without it, the agent's environment.
   */
  env?: Readonly<Record<string, string>>;
  /** Written to the process's stdin (then closed). Without it stdin is the agent's (usually /dev/null). */
  input?: string | Uint8Array;
  /**
   * On timeout or abort, SIGKILL the process and its descendants (found
   * through `/proc/PID/task/*\/children`) with a second `guest-exec`, then
   * collect its status so the agent forgets it. Default true. qemu-ga 7.2 has
   * no command to kill what `guest-exec` started.
   */
  killOnTimeout?: boolean;
}

export interface GuestExecResult {
  /** Exit code of a normal exit; null when killed by a signal. */
  exitCode: number | null;
  /**
   * The name of the signal that killed it (`SIGKILL`); null after a normal
   * exit, and for a real-time signal, which has no name.
   */
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  /** The agent keeps at most 16 MiB of each stream; true when it dropped the rest. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** The guest's pid of the process. */
  pid: number;
  durationMs: number;
}

/** What `exec` needs of the client. */
export interface AgentCommands {
  execute<T>(command: string, args?: Record<string, unknown>, options?: CallOptions): Promise<T>;
  /** True once the client is closing or closed. */
  readonly isClosing: boolean;
}

export interface ExecSettings {
  readonly commandTimeoutMs: number;
  readonly execPollIntervalMs: number;
}

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  "out-data"?: string;
  "err-data"?: string;
  "out-truncated"?: boolean;
  "err-truncated"?: boolean;
}

/** An exec's result, and the signal's number (a shell's 128 + N needs it). */
export interface ExecOutcome {
  result: GuestExecResult;
  signalNumber: number | null;
}

const EXEC_OPTION_KEYS = ["env", "input", "killOnTimeout"];

/** The `guest-exec` arguments for a call; throws `ERR_INVALID_ARGUMENT` for a bad one. */
function execRequest(
  path: unknown,
  args: unknown,
  options: GuestExecOptions,
): Record<string, unknown> {
  checkText(path, "path", { nonEmpty: true });
  if (!Array.isArray(args)) throw new InvalidArgumentError("args", "an array of strings", args);
  for (const [index, arg] of args.entries()) checkText(arg, `args[${index}]`);
  const request: Record<string, unknown> = { path, arg: [...args], "capture-output": true };
  if (options.env !== undefined) request.env = environment(options.env);
  const input = options.input;
  if (input !== undefined) {
    if (typeof input !== "string" && !(input instanceof Uint8Array))
      throw new InvalidArgumentError("options.input", "a string or a Uint8Array", input);
    request["input-data"] = Buffer.from(input).toString("base64");
  }
  if (options.killOnTimeout !== undefined && typeof options.killOnTimeout !== "boolean")
    throw new InvalidArgumentError("options.killOnTimeout", "a boolean", options.killOnTimeout);
  return request;
}

/** `{ NAME: "value" }` as the agent takes it: `["NAME=value"]`. */
function environment(env: unknown): string[] {
  checkObject(env, "options.env");
  return Object.entries(env).map(([name, value]) => {
    if (name.length === 0 || /[=\0]/.test(name))
      throw new InvalidArgumentError(
        `options.env[${JSON.stringify(name)}]`,
        "a name without '=' or NUL",
        name,
        {
          problem: "is not a variable name (empty, or with '=' or NUL)",
        },
      );
    checkText(value, `options.env.${name}`);
    return `${name}=${value}`;
  });
}

/**
 * `guest-exec`, then `guest-exec-status` polled with back-off (2 ms doubling
 * up to `execPollIntervalMs`) until the process exits. On timeout or abort,
 * kills the process tree in the background (unless `killOnTimeout: false`).
 */
export function guestExec(
  agent: AgentCommands,
  settings: ExecSettings,
  path: string,
  args: readonly string[] | undefined,
  options: GuestExecOptions | undefined,
): Promise<ExecOutcome> {
  const checked = checkCallOptions(options, EXEC_OPTION_KEYS);
  const request = execRequest(path, args ?? [], checked);
  const defaultTimeoutMs = settings.commandTimeoutMs;
  return withDeadline(`guest exec ${path}`, checked, { defaultTimeoutMs }, async (signal) => {
    const started = performance.now();
    const inner = { signal, timeoutMs: Number.POSITIVE_INFINITY };
    const { pid } = await agent.execute<{ pid: number }>("guest-exec", request, inner);
    try {
      let delayMs = 2;
      for (;;) {
        const status = await agent.execute<ExecStatus>("guest-exec-status", { pid }, inner);
        if (status.exited) return outcome(status, pid, performance.now() - started);
        await delay(delayMs, signal);
        delayMs = Math.min(delayMs * 2, settings.execPollIntervalMs);
      }
    } catch (error) {
      if (signal.aborted && checked.killOnTimeout !== false && !agent.isClosing)
        killAndReap(agent, pid);
      throw error;
    }
  });
}

function outcome(status: ExecStatus, pid: number, durationMs: number): ExecOutcome {
  const signalNumber = status.signal ?? null;
  return {
    signalNumber,
    result: {
      exitCode: status.exitcode ?? null,
      signal: signalNumber === null ? null : (linuxSignalName(signalNumber) ?? null),
      stdout: Buffer.from(status["out-data"] ?? "", "base64"),
      stderr: Buffer.from(status["err-data"] ?? "", "base64"),
      stdoutTruncated: status["out-truncated"] ?? false,
      stderrTruncated: status["err-truncated"] ?? false,
      pid,
      durationMs,
    },
  };
}

/** What `run()` on the agent resolves with: a shell's view of an exec of `sh -c`. */
export function commandResult({ result, signalNumber }: ExecOutcome): CommandResult {
  return {
    exitCode: signalNumber !== null ? 128 + signalNumber : (result.exitCode ?? -1),
    signal: result.signal,
    output: result.stdout.toString("utf8"),
    outputBytes: result.stdout,
    outputTruncated: result.stdoutTruncated,
    durationMs: result.durationMs,
  };
}

/** In the background: SIGKILL `pid`'s process tree, then collect its status. */
function killAndReap(agent: AgentCommands, pid: number): void {
  const script =
    "k() { kill -STOP $1 2>/dev/null; for c in $(cat /proc/$1/task/*/children 2>/dev/null); do k $c; done; kill -KILL $1 2>/dev/null; }; k " +
    String(pid);
  const options = { timeoutMs: 10_000 };
  void (async () => {
    const killer = await agent.execute<{ pid: number }>(
      "guest-exec",
      { path: "/bin/sh", arg: ["-c", script], "capture-output": false },
      options,
    );
    const signal = AbortSignal.timeout(10_000);
    for (const target of [killer.pid, pid]) {
      for (let delayMs = 5; ; delayMs = Math.min(delayMs * 2, 200)) {
        const status = await agent.execute<ExecStatus>(
          "guest-exec-status",
          { pid: target },
          options,
        );
        if (status.exited) break;
        await delay(delayMs, signal);
      }
    }
    debug("qga: killed and reaped guest pid %d", pid);
  })().catch((error: unknown) => {
    debug("qga: could not kill guest pid %d: %s", pid, (error as Error).message);
  });
}
