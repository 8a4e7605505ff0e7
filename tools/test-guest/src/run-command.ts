import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { GuestAbortError, GuestCommandError, GuestTimeoutError, tail } from "./errors.js";

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Bytes written to the command's stdin, then closed. */
  input?: string | Buffer;
  /** Where stdout goes: collected (default) or streamed to a writable (e.g. a file). */
  stdout?: NodeJS.WritableStream;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * Runs `file` with an argv array (never a shell). Rejects with `GuestCommandError`
 * on a non-zero exit or a failure to start, `GuestTimeoutError` past the deadline,
 * `GuestAbortError` on abort; in both of the last cases the child is killed and
 * waited for first, so nothing is left running.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const { signal, timeoutMs = 600_000 } = options;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new GuestAbortError(`${file}: aborted before start`, { cause: signal.reason }));
      return;
    }
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let stopReason: Error | undefined;
    const collect = (stream: Readable | null, into: (text: string) => void) =>
      stream?.setEncoding("utf8").on("data", into);
    if (options.stdout) {
      child.stdout.pipe(options.stdout, { end: false });
      // A full disk must not leave the child blocked on a pipe nobody reads.
      options.stdout.once("error", (error: Error) => stop(error));
    } else
      collect(child.stdout, (text) => {
        stdout += text;
      });
    collect(child.stderr, (text) => {
      stderr = tail(stderr + text, 65_536);
    });
    const stop = (reason: Error) => {
      stopReason ??= reason;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(
      () =>
        stop(new GuestTimeoutError(`${file} ran past its deadline of ${timeoutMs} ms`, timeoutMs)),
      timeoutMs,
    );
    const onAbort = () => stop(new GuestAbortError(`${file}: aborted`, { cause: signal?.reason }));
    signal?.addEventListener("abort", onAbort, { once: true });
    child.stdin.on("error", () => {
      // EPIPE when the command exits without reading everything: its exit status tells.
    });
    child.stdin.end(options.input ?? "");
    let startError: Error | undefined;
    child.once("error", (error) => {
      startError = error;
    });
    child.once("close", (exitCode, exitSignal) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (stopReason) reject(stopReason);
      else if (startError)
        reject(
          new GuestCommandError(
            `${file} could not be started: ${startError.message}`,
            file,
            args,
            null,
            null,
            stderr,
            { cause: startError },
          ),
        );
      else if (exitCode !== 0)
        reject(
          new GuestCommandError(
            `${file} ${args.slice(0, 4).join(" ")}${args.length > 4 ? " …" : ""} failed ` +
              `(exit code ${exitCode}, signal ${exitSignal}): ${tail(stderr.trim(), 1024)}`,
            file,
            args,
            exitCode,
            exitSignal,
            tail(stderr),
          ),
        );
      else resolve({ stdout, stderr, durationMs: performance.now() - started });
    });
  });
}

/** `runCommand` with stdout written to the file `output` (created or truncated). */
export async function runCommandToFile(
  file: string,
  args: readonly string[],
  output: string,
  options: Omit<RunOptions, "stdout"> = {},
): Promise<RunResult> {
  const out = createWriteStream(output, { mode: 0o644 });
  let result: RunResult;
  try {
    result = await runCommand(file, args, { ...options, stdout: out });
  } catch (error) {
    out.destroy();
    await finished(out).catch(() => {});
    throw error;
  }
  out.end();
  await finished(out);
  return result;
}
