import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { type Deadline, delay } from "@qemu-kvm/core";
import { execa } from "execa";
import { HostMaxBufferError } from "../errors/command-errors.js";
import { describeArgv } from "../errors/describe.js";
import type { EnvChanges, ExecOptions } from "../host.js";
import {
  DEFAULT_FORCE_KILL_AFTER_MS,
  DEFAULT_MAX_BUFFER,
  ExecStopped,
} from "../shared/command-host.js";
import { debug } from "../shared/observe.js";
import { parseProcStat } from "../shared/proc.js";
import { settlesWithin } from "../shared/process-base.js";
import type { CommandSpec, RawExecResult } from "../shared/transport.js";
import { LOCAL, spawnError } from "./local-errors.js";
import { type ProcessSet, processTree, signalProcesses } from "./process-tree.js";

/** This process's environment with `changes` applied. */
export function environment(changes: EnvChanges | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const [name, value] of Object.entries(changes ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

function toBuffer(data: unknown): Buffer {
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.alloc(0);
}

/**
 * Runs a command locally with execa (argv, no shell) and collects its output.
 * When `deadline` stops, the command and what it started are stopped (see
 * `terminate`) and it throws `ExecStopped` with the output so far.
 */
export async function execLocal(
  spec: CommandSpec,
  options: ExecOptions,
  deadline: Deadline,
): Promise<RawExecResult> {
  const [file, ...args] = spec.argv as [string, ...string[]];
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  debug("local: exec %s", describeArgv(spec.argv));
  const subprocess = execa(file, args, {
    cwd: spec.cwd,
    env: environment(spec.env),
    extendEnv: false,
    ...(options.input === undefined ? { stdin: "ignore" as const } : { input: options.input }),
    encoding: "buffer",
    stripFinalNewline: false,
    maxBuffer,
    reject: false,
    cleanup: true,
  });
  const onStop = () =>
    terminate(subprocess, options.forceKillAfterMs ?? DEFAULT_FORCE_KILL_AFTER_MS, [
      subprocess.stdout,
      subprocess.stderr,
    ]);
  deadline.signal.addEventListener("abort", onStop, { once: true });
  let result: Awaited<typeof subprocess>;
  try {
    result = await subprocess;
  } finally {
    deadline.signal.removeEventListener("abort", onStop);
  }
  const stdout = toBuffer(result.stdout);
  const stderr = toBuffer(result.stderr);
  if (deadline.stopped) throw new ExecStopped(stdout, stderr);
  if (result.isMaxBuffer) {
    const stream = /stderr/.test(result.shortMessage ?? "") ? "stderr" : "stdout";
    throw new HostMaxBufferError({ argv: spec.argv, stream, maxBuffer, host: LOCAL });
  }
  if (result.failed && result.exitCode === undefined && result.signal === undefined)
    throw await spawnError(spec.argv, spec.cwd, result.cause);
  return { stdout, stderr, exitCode: result.exitCode ?? null, signal: result.signal ?? null };
}

/**
 * Stops a local process and everything it started: SIGTERM to the tree now,
 * SIGKILL to what is left after `forceKillAfterMs`, and, if the output still has
 * not ended (a process outside the tree holds it), the pipes are destroyed after
 * one more delay so the call can settle.
 */
export function terminate(
  child: ChildProcess,
  forceKillAfterMs: number,
  pipes: (Readable | Writable | null)[],
): void {
  const pid = child.pid;
  if (pid === undefined) return;
  const done = child.exitCode !== null || child.signalCode !== null;
  const exited = done ? Promise.resolve() : once(child, "exit");
  const closed = once(child, "close");
  void (async () => {
    const members = await processTree(pid);
    debug("local: stopping %d (%d processes)", pid, members.size);
    await signalProcesses(members, "SIGTERM");
    const started = performance.now();
    if (await settlesWithin(exited, forceKillAfterMs)) {
      // The root is gone; give what it started the rest of the delay.
      if (await anyAlive(members))
        await delay(Math.max(0, forceKillAfterMs - (performance.now() - started)));
    } else {
      await processTree(pid, members);
    }
    if (await anyAlive(members)) await signalProcesses(members, "SIGKILL");
    if (!(await settlesWithin(closed, forceKillAfterMs))) {
      debug("local: output of %d still open after SIGKILL: closing the pipes", pid);
      for (const pipe of pipes) pipe?.destroy();
    }
  })().catch((error: unknown) => debug("local: stopping %d failed: %s", pid, String(error)));
}

async function anyAlive(members: ProcessSet): Promise<boolean> {
  for (const [pid, startTime] of members) {
    try {
      const stat = parseProcStat(await readFile(`/proc/${pid}/stat`, "utf8"));
      if (stat && stat.state !== "Z" && (startTime === undefined || stat.startTime === startTime))
        return true;
    } catch {
      // Gone.
    }
  }
  return false;
}
