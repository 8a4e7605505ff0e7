import { setMaxListeners } from "node:events";
import { type Duplex, PassThrough, type Readable, type Writable } from "node:stream";
import {
  describeArgv,
  HostAbortError,
  HostArgumentError,
  HostClosedError,
  HostExitError,
  HostTimeoutError,
} from "./errors.js";
import type {
  EnvChanges,
  ExecOptions,
  ExecResult,
  Host,
  HostProcess,
  OperationOptions,
  PrivateDirOptions,
  ProcessExit,
  ProcessInfo,
  ProcessOptions,
  ReadFileOptions,
  RemoveOptions,
  Signal,
  SpawnOptions,
  WriteFileOptions,
} from "./host.js";
import { checkDuration, Operation } from "./operation.js";
import { isLiveProcess, readProcessInfo } from "./proc.js";
import { checkCommand, checkValue } from "./quote.js";
import { checkPid, signalName } from "./signals.js";

export const DEFAULT_MAX_BUFFER = 100 * 1024 * 1024;
export const DEFAULT_FORCE_KILL_AFTER_MS = 5000;

/** What a transport needs to run a validated command. */
export interface CommandSpec {
  argv: readonly string[];
  cwd: string | undefined;
  env: EnvChanges | undefined;
}

/** What a transport's exec returns: raw bytes, before decoding and the exit check. */
export interface RawExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** Thrown by a transport's exec when the operation was stopped, with the output so far. */
export class ExecStopped {
  constructor(
    readonly stdout: Buffer,
    readonly stderr: Buffer,
  ) {}
}

/** A spawned process as the host tracks it, to stop it on `close()`/`destroy()`. */
export interface TrackedProcess extends HostProcess {
  /** Best effort SIGKILL, `exited` rejects with `error`. */
  destroyNow(error: HostClosedError): void;
}

/**
 * `stop()` and `await using` for both transports, on top of `kill()` and `exited`:
 * SIGTERM, then SIGKILL after `forceKillAfterMs`.
 */
export abstract class ProcessBase implements TrackedProcess {
  abstract readonly argv: readonly string[];
  abstract readonly stdin: Writable;
  abstract readonly stdout: Readable;
  abstract readonly stderr: Readable;
  abstract readonly pid: Promise<number>;
  abstract readonly exited: Promise<ProcessExit>;
  abstract kill(signal?: Signal): Promise<boolean>;
  abstract destroyNow(error: HostClosedError): void;
  protected abstract readonly forceKillAfterMs: number;
  #stopping: Promise<ProcessExit> | undefined;

  stop(): Promise<ProcessExit> {
    this.#stopping ??= (async () => {
      const started = await this.pid.then(
        () => true,
        () => false,
      );
      if (started) {
        await this.kill("SIGTERM").catch(() => false);
        if (!(await settlesWithin(this.exited, this.forceKillAfterMs)))
          await this.kill("SIGKILL").catch(() => false);
      }
      return this.exited;
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // `exited` already told whatever went wrong (could not start, connection lost).
    await this.stop().catch(() => {});
  }
}

/** Resolves true if `promise` settles (either way) within `ms`, false otherwise. Never rejects. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true as const,
        () => true as const,
      ),
      expired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function isStopError(error: unknown): boolean {
  return (
    error instanceof HostTimeoutError ||
    error instanceof HostAbortError ||
    error instanceof HostClosedError
  );
}

function checkMode(mode: unknown): void {
  if (mode === undefined) return;
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o7777)
    throw new HostArgumentError(
      "mode",
      `must be an integer from 0 to 0o7777 (got ${String(mode)})`,
    );
}

/**
 * Everything the two transports share: argument validation (synchronous, before
 * anything runs), deadlines, the exit check, and the lifecycle (`close`,
 * `destroy`, tracking of calls in flight, spawned processes and streams).
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

  // What each transport implements. `op` carries the deadline; when it is stopped,
  // the transport stops what it started and rejects (the base maps the error).
  /** Validates transport-specific limits synchronously (SSH: the command line length). */
  protected abstract prepare(spec: CommandSpec): void;
  protected abstract execCommand(
    spec: CommandSpec,
    options: ExecOptions,
    op: Operation,
  ): Promise<RawExecResult>;
  protected abstract spawnCommand(spec: CommandSpec, options: SpawnOptions): TrackedProcess;
  protected abstract readFileImpl(path: string, op: Operation): Promise<Buffer>;
  protected abstract writeFileImpl(
    path: string,
    data: Buffer,
    mode: number | undefined,
    op: Operation,
  ): Promise<void>;
  protected abstract removeImpl(path: string, recursive: boolean, op: Operation): Promise<void>;
  protected abstract makePrivateDirImpl(
    parent: string | undefined,
    prefix: string,
    op: Operation,
  ): Promise<string>;
  protected abstract existsImpl(path: string, op: Operation): Promise<boolean>;
  protected abstract connectUnixImpl(path: string, op: Operation): Promise<Duplex>;
  protected abstract connectTcpImpl(port: number, address: string, op: Operation): Promise<Duplex>;
  /** A /proc file's bytes, or `undefined` if it does not exist (no such process). */
  protected abstract readProcFile(path: string, op: Operation): Promise<Buffer | undefined>;
  protected abstract killImpl(
    pid: number,
    signal: NodeJS.Signals,
    startTime: bigint | undefined,
    op: Operation,
  ): Promise<boolean>;
  /** After `close()` has drained everything: release the transport. */
  protected abstract shutdown(): Promise<void>;
  /** On `destroy()`: drop the transport now. */
  protected abstract shutdownNow(error: HostClosedError): void;

  /** The host's lifetime: aborted (reason: the `HostClosedError`) by `destroy()`. */
  protected get lifetime(): AbortSignal {
    return this.#lifetime.signal;
  }

  /** Runs `body` under a deadline, tracked for `close()`. Validates `options` synchronously. */
  protected run<T>(
    name: string,
    options: OperationOptions,
    body: (op: Operation) => Promise<T>,
  ): Promise<T> {
    const op = new Operation(name, this.name, options, this.#lifetime.signal);
    if (this.#closed) {
      op.dispose();
      return Promise.reject(this.#closed);
    }
    const promise = (async () => {
      try {
        op.throwIfStopped();
        return await body(op);
      } catch (error) {
        // Whatever failed because the call was stopped fails with the stop's error.
        if (op.stopReason && !isStopError(error)) throw op.error();
        throw error;
      } finally {
        op.dispose();
      }
    })();
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
    options: ExecOptions = {},
  ): Promise<ExecResult<string | Buffer>> {
    const spec = this.#command(file, args, options);
    checkDuration(options.maxBuffer, "maxBuffer");
    checkDuration(options.forceKillAfterMs, "forceKillAfterMs");
    if (
      options.input !== undefined &&
      typeof options.input !== "string" &&
      !(options.input instanceof Uint8Array)
    )
      throw new HostArgumentError("input", "must be a string or a Uint8Array");
    if (
      options.encoding !== undefined &&
      options.encoding !== "utf8" &&
      options.encoding !== "buffer"
    )
      throw new HostArgumentError("encoding", `must be "utf8" or "buffer"`);
    const started = performance.now();
    const decode = (bytes: Buffer) =>
      options.encoding === "buffer" ? bytes : bytes.toString("utf8");
    return this.run(`exec ${describeArgv(spec.argv)}`, options, async (op) => {
      let raw: RawExecResult;
      try {
        raw = await this.execCommand(spec, options, op);
      } catch (error) {
        if (error instanceof ExecStopped)
          throw op.error({
            argv: spec.argv,
            stdout: decode(error.stdout),
            stderr: decode(error.stderr),
            durationMs: performance.now() - started,
          });
        throw error;
      }
      const result = {
        argv: spec.argv,
        stdout: decode(raw.stdout),
        stderr: decode(raw.stderr),
        exitCode: raw.exitCode,
        signal: raw.signal,
        durationMs: performance.now() - started,
      };
      if (options.reject !== false && (raw.exitCode !== 0 || raw.signal !== null))
        throw new HostExitError(result, { host: this.name });
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

  spawn(file: string, args: readonly string[] = [], options: SpawnOptions = {}): HostProcess {
    const spec = this.#command(file, args, options);
    checkDuration(options.forceKillAfterMs, "forceKillAfterMs");
    const process = this.#closed
      ? new FailedProcess(spec.argv, this.#closed)
      : this.spawnCommand(spec, options);
    this.#processes.add(process);
    const forget = () => this.#processes.delete(process);
    process.exited.then(forget, forget);
    return process;
  }

  readFile(path: string, options?: ReadFileOptions & { encoding?: "buffer" }): Promise<Buffer>;
  readFile(path: string, options: ReadFileOptions & { encoding: "utf8" }): Promise<string>;
  readFile(path: string, options?: ReadFileOptions): Promise<Buffer | string>;
  readFile(path: string, options: ReadFileOptions = {}): Promise<Buffer | string> {
    checkValue(path, "path");
    return this.run(`readFile ${path}`, options, async (op) => {
      const data = await this.readFileImpl(path, op);
      return options.encoding === "utf8" ? data.toString("utf8") : data;
    });
  }

  writeFile(
    path: string,
    data: string | Uint8Array,
    options: WriteFileOptions = {},
  ): Promise<void> {
    checkValue(path, "path");
    if (typeof data !== "string" && !(data instanceof Uint8Array))
      throw new HostArgumentError("data", "must be a string or a Uint8Array");
    checkMode(options.mode);
    const bytes =
      typeof data === "string"
        ? Buffer.from(data, "utf8")
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.run(`writeFile ${path}`, options, (op) =>
      this.writeFileImpl(path, bytes, options.mode, op),
    );
  }

  remove(path: string, options: RemoveOptions = {}): Promise<void> {
    checkValue(path, "path");
    if (path === "" || path === "/")
      throw new HostArgumentError("path", `refusing to remove ${JSON.stringify(path)}`);
    return this.run(`remove ${path}`, options, (op) =>
      this.removeImpl(path, options.recursive === true, op),
    );
  }

  makePrivateDir(options: PrivateDirOptions = {}): Promise<string> {
    const prefix = options.prefix ?? "qk-";
    checkValue(prefix, "prefix");
    if (prefix.includes("/")) throw new HostArgumentError("prefix", "must not contain /");
    if (options.parent !== undefined) checkValue(options.parent, "parent");
    return this.run("makePrivateDir", options, (op) =>
      this.makePrivateDirImpl(options.parent, prefix, op),
    );
  }

  exists(path: string, options: OperationOptions = {}): Promise<boolean> {
    checkValue(path, "path");
    return this.run(`exists ${path}`, options, (op) => this.existsImpl(path, op));
  }

  connectUnix(path: string, options: OperationOptions = {}): Promise<Duplex> {
    checkValue(path, "path");
    return this.run(`connectUnix ${path}`, options, async (op) =>
      this.#trackStream(await this.connectUnixImpl(path, op)),
    );
  }

  connectTcp(port: number, address = "127.0.0.1", options: OperationOptions = {}): Promise<Duplex> {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new HostArgumentError(
        "port",
        `must be an integer from 1 to 65535 (got ${String(port)})`,
      );
    checkValue(address, "address");
    return this.run(`connectTcp ${address}:${port}`, options, async (op) =>
      this.#trackStream(await this.connectTcpImpl(port, address, op)),
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

  processInfo(pid: number, options: OperationOptions = {}): Promise<ProcessInfo | undefined> {
    checkPid(pid);
    return this.run(`processInfo ${pid}`, options, (op) =>
      readProcessInfo(pid, (path) => this.readProcFile(path, op)),
    );
  }

  isAlive(pid: number, options: ProcessOptions = {}): Promise<boolean> {
    checkPid(pid);
    return this.run(`isAlive ${pid}`, options, async (op) =>
      isLiveProcess(
        await readProcessInfo(pid, (path) => this.readProcFile(path, op)),
        options.startTime,
      ),
    );
  }

  kill(pid: number, signal: Signal = "SIGTERM", options: ProcessOptions = {}): Promise<boolean> {
    checkPid(pid);
    const name = signalName(signal);
    return this.run(`kill ${name} ${pid}`, options, (op) =>
      this.killImpl(pid, name, options.startTime, op),
    );
  }

  close(): Promise<void> {
    this.#closed ??= new HostClosedError(`host ${this.name} is closed`, { host: this.name });
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await Promise.allSettled([...this.#processes].map((process) => process.stop()));
      for (const stream of this.#streams) stream.destroy();
      await this.shutdown();
    })();
    return this.#closing;
  }

  destroy(reason?: unknown): void {
    const error = new HostClosedError(`host ${this.name} was destroyed`, {
      cause: reason,
      host: this.name,
    });
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

/** What `spawn()` returns on a closed host: it never ran. */
class FailedProcess extends ProcessBase {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly pid: Promise<number>;
  readonly exited: Promise<ProcessExit>;
  protected readonly forceKillAfterMs = 0;

  constructor(
    readonly argv: readonly string[],
    error: Error,
  ) {
    super();
    const stdin = new PassThrough();
    stdin.resume();
    this.stdin = stdin;
    this.stdout = new PassThrough().end();
    this.stderr = new PassThrough().end();
    this.pid = Promise.reject(error);
    this.exited = Promise.reject(error);
    this.pid.catch(() => {});
    this.exited.catch(() => {});
  }

  async kill(): Promise<boolean> {
    return false;
  }

  destroyNow(): void {}
}
