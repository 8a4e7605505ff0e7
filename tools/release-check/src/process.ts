import { spawn } from "node:child_process";

/** How a command ended. */
export interface RunResult {
  /** `file` and `args`, shell-quoted for people (never run through a shell). */
  command: string;
  cwd: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RunOptions {
  cwd: string;
  /** Killed (SIGKILL, with its process group) after this long; default 120 s. */
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/** Output kept per stream: the last bytes, enough to read why a command failed. */
const KEEP_BYTES = 256 * 1024;

/** Runs `file` with `args` (argv, no shell) and resolves however it ends; never rejects on an exit code. */
export function run(
  file: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  const started = performance.now();
  const command = [file, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so a timeout kills what it started too
    });
    const stdout = tail(child.stdout);
    const stderr = tail(child.stderr);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, options.timeoutMs ?? 120_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        command,
        cwd: options.cwd,
        exitCode,
        signal,
        timedOut,
        stdout: stdout(),
        stderr: stderr(),
        durationMs: Math.round(performance.now() - started),
      });
    });
  });
}

/** Like `run`, but rejects unless the command exits 0, with its output in the message. */
export async function runOk(
  file: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  const result = await run(file, args, options);
  if (result.exitCode !== 0) throw new Error(describeFailure(result));
  return result;
}

/** A failed command for a test's message: what ran, how it ended, and its output. */
export function describeFailure(result: RunResult): string {
  const ending = result.timedOut
    ? "timed out"
    : result.signal
      ? `was killed by ${result.signal}`
      : `exited ${result.exitCode}`;
  return [
    `${result.command} (in ${result.cwd}) ${ending} after ${result.durationMs} ms`,
    `--- stdout\n${result.stdout}`,
    `--- stderr\n${result.stderr}`,
  ].join("\n");
}

function tail(stream: NodeJS.ReadableStream): () => string {
  let kept = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    kept = Buffer.concat([kept, chunk]);
    if (kept.length > KEEP_BYTES) kept = kept.subarray(kept.length - KEEP_BYTES);
  });
  return () => kept.toString("utf8");
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
