import { setMaxListeners } from "node:events";
import type { Duplex } from "node:stream";
import { type CallOptions, checkCallOptions, Deadline, InvalidArgumentError } from "@qemu-kvm/core";
import { HostExitError } from "../errors/command-errors.js";
import { describeArgv } from "../errors/describe.js";
import { HostClosedError } from "../errors/host-errors.js";
import type {
  EnvChanges,
  ExecOptions,
  ExecResult,
  Host,
  HostProcess,
  PrivateDirOptions,
  ProcessInfo,
  ProcessOptions,
  ReadFileOptions,
  RemoveOptions,
  Signal,
  SpawnOptions,
  WriteFileOptions,
} from "../host.js";
import {
  checkCommand,
  checkData,
  checkExecOptions,
  checkMode,
  checkOneOf,
  checkPid,
  checkProcessOptions,
  checkSpawnOptions,
  checkValue,
  signalName,
} from "./arguments.js";
import { operations } from "./observe.js";
import { isLiveProcess, readProcessInfo } from "./proc.js";
import { FailedProcess, type TrackedProcess } from "./process-base.js";
import { isStopError, stopError } from "./stop.js";
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
 * Everything the two transports share: argument validation (synchronous,
 * before anything runs), deadlines, tracing, the exit check, and the lifecycle
 * (`close`, `destroy`, tracking of calls in flight, spawned processes and
 * streams). Each transport implements the `protected abstract` methods: when
 * their deadline stops, they stop what they started and reject.
 */
export abstract class BaseHost implements Host {
  abstract readonly name: string;
  abstract readonly transport: "local" | "ssh";
  readonly #lifetime = new AbortController();
  #closed: HostClosedError | undefined;
  #closing: Promise<void> | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #processes = new Set<TrackedProcess>();
  readonly #streams = new Set<Duplex>();

  constructor() {
    // Every call in flight listens for destroy(): hundreds at once are normal.
    setMaxListeners(0, this.#lifetime.signal);
  }

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
  protected abstract readFileImpl(path: string, deadline: Deadline): Promise<Buffer>;
  protected abstract writeFileImpl(
    path: string,
    data: Buffer,
    mode: number | undefined,
    deadline: Deadline,
  ): Promise<void>;
  protected abstract removeImpl(
    path: string,
    recursive: boolean,
    deadline: Deadline,
  ): Promise<void>;
  protected abstract makePrivateDirImpl(
    parent: string | undefined,
    prefix: string,
    deadline: Deadline,
  ): Promise<string>;
  protected abstract existsImpl(path: string, deadline: Deadline): Promise<boolean>;
  protected abstract connectUnixImpl(path: string, deadline: Deadline): Promise<Duplex>;
  protected abstract connectTcpImpl(
    host: string,
    port: number,
    deadline: Deadline,
  ): Promise<Duplex>;
  /** A /proc file's bytes, or `undefined` if it does not exist (no such process). */
  protected abstract readProcFile(path: string, deadline: Deadline): Promise<Buffer | undefined>;
  protected abstract killImpl(
    pid: number,
    signal: NodeJS.Signals,
    startTime: bigint | undefined,
    deadline: Deadline,
  ): Promise<boolean>;
  /** After `close()` has drained everything: release the transport. */
  protected abstract shutdown(): Promise<void>;
  /** On `destroy()`: drop the transport now. */
  protected abstract shutdownNow(error: HostClosedError): void;

  /** The host's lifetime: aborted (reason: the `HostClosedError`) by `destroy()`. */
  protected get lifetime(): AbortSignal {
    return this.#lifetime.signal;
  }

  /**
   * Runs `body` under a deadline (the call's `signal` and `timeoutMs`, and the
   * host's lifetime), traced on the `qemu-kvm:host` channel as `kind`, tracked
   * for `close()`. A stopped call rejects with the host's stop error.
   */
  protected run<T>(
    kind: string,
    subject: string,
    options: CallOptions,
    body: (deadline: Deadline) => Promise<T>,
  ): Promise<T> {
    const operation = subject === "" ? kind : `${kind} ${subject}`;
    const deadline = new Deadline(operation, options, { lifetime: this.lifetime });
    if (this.#closed) {
      deadline.dispose();
      return Promise.reject(this.#closed);
    }
    const target = subject === "" ? this.name : `${this.name} ${subject}`;
    const promise = operations.trace(kind, target, async () => {
      try {
        if (deadline.stopped) throw stopError(deadline, this.name);
        return await body(deadline);
      } catch (error) {
        // Whatever failed because the call was stopped fails with the stop's error.
        if (deadline.stopped && !isStopError(error)) throw stopError(deadline, this.name);
        throw error;
      } finally {
        deadline.dispose();
      }
    });
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

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
    if (this.#closed || deadline.stopped) {
      process = new FailedProcess(spec.argv, this.#closed ?? stopError(deadline, this.name));
      deadline.dispose();
    } else {
      try {
        process = this.spawnCommand(spec, checked, deadline);
      } catch (error) {
        deadline.dispose();
        throw error;
      }
    }
    this.#processes.add(process);
    const forget = () => this.#processes.delete(process);
    process.exited.then(forget, forget);
    void operations
      .trace("spawn", `${this.name} ${describeArgv(spec.argv)}`, () => process.exited)
      .catch(() => {});
    return process;
  }

  readFile(path: string, options?: ReadFileOptions & { encoding?: "buffer" }): Promise<Buffer>;
  readFile(path: string, options: ReadFileOptions & { encoding: "utf8" }): Promise<string>;
  readFile(path: string, options?: ReadFileOptions): Promise<Buffer | string>;
  readFile(path: string, options?: ReadFileOptions): Promise<Buffer | string> {
    const checked: ReadFileOptions = checkCallOptions(options, ["encoding"]);
    checkValue(path, "path");
    checkOneOf(checked.encoding, ["buffer", "utf8"], "encoding");
    return this.run("readFile", path, checked, async (deadline) => {
      const data = await this.readFileImpl(path, deadline);
      return checked.encoding === "utf8" ? data.toString("utf8") : data;
    });
  }

  writeFile(path: string, data: string | Uint8Array, options?: WriteFileOptions): Promise<void> {
    const checked: WriteFileOptions = checkCallOptions(options, ["mode"]);
    checkValue(path, "path");
    if (data === undefined)
      throw new InvalidArgumentError("data", "a string or a Uint8Array", data);
    checkData(data, "data");
    checkMode(checked.mode);
    const bytes =
      typeof data === "string"
        ? Buffer.from(data, "utf8")
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.run("writeFile", path, checked, (deadline) =>
      this.writeFileImpl(path, bytes, checked.mode, deadline),
    );
  }

  remove(path: string, options?: RemoveOptions): Promise<void> {
    const checked: RemoveOptions = checkCallOptions(options, ["recursive"]);
    checkValue(path, "path");
    checkOneOf(checked.recursive, [true, false], "recursive");
    if (path === "" || path === "/")
      throw new InvalidArgumentError("path", "a path other than / or empty", path, {
        problem: "is refused: removing it is never meant",
      });
    return this.run("remove", path, checked, (deadline) =>
      this.removeImpl(path, checked.recursive === true, deadline),
    );
  }

  makePrivateDir(options?: PrivateDirOptions): Promise<string> {
    const checked: PrivateDirOptions = checkCallOptions(options, ["prefix", "parent"]);
    const prefix = checked.prefix ?? "qk-";
    checkValue(prefix, "prefix");
    if (prefix.includes("/")) throw new InvalidArgumentError("prefix", "a name without /", prefix);
    if (checked.parent !== undefined) checkValue(checked.parent, "parent");
    return this.run("makePrivateDir", checked.parent ?? "", checked, (deadline) =>
      this.makePrivateDirImpl(checked.parent, prefix, deadline),
    );
  }

  exists(path: string, options?: CallOptions): Promise<boolean> {
    const checked = checkCallOptions(options);
    checkValue(path, "path");
    return this.run("exists", path, checked, (deadline) => this.existsImpl(path, deadline));
  }

  connectUnix(path: string, options?: CallOptions): Promise<Duplex> {
    const checked = checkCallOptions(options);
    checkValue(path, "path");
    return this.run("connectUnix", path, checked, async (deadline) =>
      this.#trackStream(await this.connectUnixImpl(path, deadline)),
    );
  }

  connectTcp(host: string, port: number, options?: CallOptions): Promise<Duplex> {
    const checked = checkCallOptions(options);
    checkValue(host, "host");
    if (host === "") throw new InvalidArgumentError("host", "an address or host name", host);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new InvalidArgumentError("port", "an integer from 1 to 65535", port);
    return this.run("connectTcp", `${host}:${port}`, checked, async (deadline) =>
      this.#trackStream(await this.connectTcpImpl(host, port, deadline)),
    );
  }

  #trackStream(stream: Duplex): Duplex {
    if (this.#closed) {
      stream.destroy();
      throw this.#closed;
    }
    this.#streams.add(stream);
    stream.once("close", () => this.#streams.delete(stream));
    return stream;
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

  close(): Promise<void> {
    this.#closed ??= new HostClosedError({ host: this.name });
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await Promise.allSettled([...this.#processes].map((process) => process.stop()));
      for (const stream of this.#streams) stream.destroy();
      await this.shutdown();
    })();
    return this.#closing;
  }

  destroy(reason?: unknown): void {
    const error = new HostClosedError({ host: this.name, cause: reason });
    this.#closed ??= error;
    if (this.#lifetime.signal.aborted) return;
    this.#lifetime.abort(error);
    for (const process of this.#processes) process.destroyNow(error);
    for (const stream of this.#streams) stream.destroy();
    this.shutdownNow(error);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
