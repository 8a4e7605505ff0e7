import { type CallOptions, checkCallOptions, Deadline } from "@qemu-kvm/core";
import { HostExitError } from "../errors/command-errors.js";
import { describeArgv } from "../errors/describe.js";
import type {
  EnvChanges,
  ExecOptions,
  ExecResult,
  HostProcess,
  ProcessInfo,
  ProcessOptions,
  Signal,
  SpawnOptions,
} from "../host.js";
import {
  checkCommand,
  checkExecOptions,
  checkPid,
  checkProcessOptions,
  checkSpawnOptions,
  signalName,
} from "./arguments.js";
import { HostLifecycle } from "./host-lifecycle.js";
import { operations } from "./observe.js";
import { isLiveProcess, readProcessInfo } from "./proc.js";
import { FailedProcess, type TrackedProcess } from "./process-base.js";
import { stopError } from "./stop.js";
import type { CommandSpec, RawExecResult } from "./transport.js";

export const DEFAULT_MAX_BUFFER = 100 * 1024 * 1024;
export const DEFAULT_FORCE_KILL_AFTER_MS = 5000;

/** Thrown by a transport's exec when its deadline stopped it: the output so far. */
export class ExecStopped {
  constructor(
    readonly stdout: Buffer,
    readonly stderr: Buffer,
  ) {}
}

/**
 * The commands and processes of a host, the same for both transports:
 * argument validation (synchronous, before anything runs), deadlines, the exit
 * check, /proc facts. Each transport implements the `protected abstract`
 * methods: when their deadline stops, they stop what they started and reject.
 */
export abstract class CommandHost extends HostLifecycle {
  /** Validates transport-specific limits synchronously (SSH: the command line length). */
  protected abstract prepare(spec: CommandSpec): void;
  protected abstract execCommand(
    spec: CommandSpec,
    options: ExecOptions,
    deadline: Deadline,
  ): Promise<RawExecResult>;
  protected abstract spawnCommand(
    spec: CommandSpec,
    options: SpawnOptions,
    deadline: Deadline,
  ): TrackedProcess;
  /** A /proc file's bytes, or `undefined` if it does not exist (no such process). */
  protected abstract readProcFile(path: string, deadline: Deadline): Promise<Buffer | undefined>;
  protected abstract killImpl(
    pid: number,
    signal: NodeJS.Signals,
    startTime: bigint | undefined,
    deadline: Deadline,
  ): Promise<boolean>;
  protected abstract waitForExitImpl(
    pid: number,
    startTime: bigint | undefined,
    deadline: Deadline,
  ): Promise<void>;
  /** `uname -m` of the host, asked once per connection. */
  protected abstract architectureImpl(deadline: Deadline): Promise<string>;

  exec(
    file: string,
    args?: readonly string[],
    options?: ExecOptions & { encoding?: "utf8" },
  ): Promise<ExecResult<string>>;
  exec(
    file: string,
    args: readonly string[],
    options: ExecOptions & { encoding: "buffer" },
  ): Promise<ExecResult<Buffer>>;
  exec(
    file: string,
    args?: readonly string[],
    options?: ExecOptions,
  ): Promise<ExecResult<string | Buffer>>;
  exec(
    file: string,
    args: readonly string[] = [],
    options?: ExecOptions,
  ): Promise<ExecResult<string | Buffer>> {
    const checked = checkExecOptions(options);
    const spec = this.#command(file, args, checked);
    const started = performance.now();
    const decode = (bytes: Buffer) =>
      checked.encoding === "buffer" ? bytes : bytes.toString("utf8");
    return this.run("exec", describeArgv(spec.argv), checked, async (deadline) => {
      let raw: RawExecResult;
      try {
        raw = await this.execCommand(spec, checked, deadline);
      } catch (error) {
        if (!(error instanceof ExecStopped)) throw error;
        throw stopError(deadline, this.name, {
          argv: spec.argv,
          stdout: decode(error.stdout),
          stderr: decode(error.stderr),
          durationMs: performance.now() - started,
        });
      }
      const result = {
        argv: spec.argv,
        stdout: decode(raw.stdout),
        stderr: decode(raw.stderr),
        exitCode: raw.exitCode,
        signal: raw.signal,
        durationMs: performance.now() - started,
      };
      if (checked.reject !== false && (raw.exitCode !== 0 || raw.signal !== null))
        throw new HostExitError({ ...result, host: this.name });
      return result;
    });
  }

  #command(
    file: string,
    args: readonly string[],
    options: { cwd?: string; env?: EnvChanges },
  ): CommandSpec {
    const argv = checkCommand(file, args, options);
    const spec = { argv, cwd: options.cwd, env: options.env };
    this.prepare(spec);
    return spec;
  }

  spawn(file: string, args: readonly string[] = [], options?: SpawnOptions): HostProcess {
    const checked = checkSpawnOptions(options);
    const spec = this.#command(file, args, checked);
    // The process's own deadline: not the host's lifetime (destroy() kills it itself).
    const deadline = new Deadline(`spawn ${describeArgv(spec.argv)}`, checked);
    let process: TrackedProcess;
    const closed = this.closedError;
    if (closed || deadline.stopped) {
      process = new FailedProcess(spec.argv, closed ?? stopError(deadline, this.name));
      deadline.dispose();
    } else {
      try {
        process = this.spawnCommand(spec, checked, deadline);
      } catch (error) {
        deadline.dispose();
        throw error;
      }
    }
    this.trackProcess(process);
    void operations
      .trace("spawn", `${this.name} ${describeArgv(spec.argv)}`, () => process.exited)
      .catch(() => {});
    return process;
  }

  processInfo(pid: number, options?: CallOptions): Promise<ProcessInfo | undefined> {
    const checked = checkCallOptions(options);
    checkPid(pid);
    return this.run("processInfo", String(pid), checked, (deadline) =>
      readProcessInfo(pid, (path) => this.readProcFile(path, deadline)),
    );
  }

  isAlive(pid: number, options?: ProcessOptions): Promise<boolean> {
    const checked = checkProcessOptions(options);
    checkPid(pid);
    return this.run("isAlive", String(pid), checked, async (deadline) =>
      isLiveProcess(
        await readProcessInfo(pid, (path) => this.readProcFile(path, deadline)),
        checked.startTime,
      ),
    );
  }

  kill(pid: number, signal: Signal = "SIGTERM", options?: ProcessOptions): Promise<boolean> {
    const checked = checkProcessOptions(options);
    checkPid(pid);
    const name = signalName(signal);
    return this.run("kill", `${name} ${pid}`, checked, (deadline) =>
      this.killImpl(pid, name, checked.startTime, deadline),
    );
  }

  waitForExit(pid: number, options?: ProcessOptions): Promise<void> {
    const checked = checkProcessOptions(options);
    checkPid(pid);
    return this.run("waitForExit", String(pid), checked, (deadline) =>
      this.waitForExitImpl(pid, checked.startTime, deadline),
    );
  }

  architecture(options?: CallOptions): Promise<string> {
    const checked = checkCallOptions(options);
    return this.run("architecture", "", checked, (deadline) => this.architectureImpl(deadline));
  }
}
