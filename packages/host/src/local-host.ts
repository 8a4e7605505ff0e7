import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { lstat, mkdtemp, open, readFile, rm, rmdir, stat, unlink } from "node:fs/promises";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex, Readable, Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { execa, type ResultPromise } from "execa";
import {
  BaseHost,
  type CommandSpec,
  DEFAULT_FORCE_KILL_AFTER_MS,
  DEFAULT_MAX_BUFFER,
  ExecStopped,
  ProcessBase,
  type RawExecResult,
  settlesWithin,
} from "./base-host.js";
import { debug } from "./debug.js";
import {
  describeArgv,
  HostAbortError,
  type HostClosedError,
  HostMaxBufferError,
  HostSocketError,
  HostSpawnError,
  HostSystemError,
} from "./errors.js";
import type { EnvChanges, ExecOptions, Host, ProcessExit, Signal, SpawnOptions } from "./host.js";
import type { Operation } from "./operation.js";
import { parseProcStat } from "./proc.js";
import { processTree, signalProcesses } from "./process-tree.js";
import { signalName } from "./signals.js";

/**
 * This machine as a `Host`. Commands run with execa from argv, never through a
 * shell; files, sockets and processes are this machine's.
 *
 * ```ts
 * await using host = localHost();
 * const { stdout } = await host.exec("uname", ["-r"]);
 * ```
 */
export function localHost(): Host {
  return new LocalHost();
}

/** This process's environment with `changes` applied. */
function environment(changes: EnvChanges | undefined): NodeJS.ProcessEnv {
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

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A spawn failure (`ENOENT`…) as `ERR_HOST_SPAWN`, telling a missing cwd from a missing file. */
async function spawnError(
  argv: readonly string[],
  cwd: string | undefined,
  error: unknown,
): Promise<HostSpawnError> {
  const code = errnoOf(error);
  if (code === "ENOENT" || code === "ENOTDIR" || code === "EACCES") {
    if (cwd !== undefined) {
      const usable = await stat(cwd).then(
        (info) => info.isDirectory(),
        () => false,
      );
      if (!usable)
        return new HostSpawnError(argv, "bad-cwd", `no directory ${cwd}`, { cause: error });
    }
    if (code === "EACCES")
      return new HostSpawnError(argv, "not-executable", `${argv[0]} is not executable`, {
        cause: error,
      });
    return new HostSpawnError(argv, "not-found", `${argv[0]} not found`, { cause: error });
  }
  return new HostSpawnError(argv, "system", (error as Error)?.message ?? String(error), {
    cause: error,
  });
}

function systemError(operation: string, error: unknown, path?: string): HostSystemError {
  const code = errnoOf(error) ?? "EIO";
  return new HostSystemError(operation, code, (error as Error)?.message ?? String(error), {
    cause: error,
    path,
  });
}

/** Waits for a new socket to connect; destroys it if the operation stops first. */
async function connected(socket: Socket, target: string, op: Operation): Promise<Socket> {
  try {
    await op.race(once(socket, "connect"));
    return socket;
  } catch (error) {
    socket.destroy();
    if (op.stopReason) throw error;
    throw new HostSocketError(target, errnoOf(error), (error as Error).message, { cause: error });
  }
}

/**
 * Stops a local process and everything it started: SIGTERM to the tree now,
 * SIGKILL to what is left after `forceKillAfterMs`, and, if the output still has
 * not ended (a process outside the tree holds it), the pipes are destroyed after
 * one more delay so the call can settle.
 */
function terminate(
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
    const deadline = performance.now() + forceKillAfterMs;
    if (await settlesWithin(exited, forceKillAfterMs)) {
      // The root is gone; give what it started the rest of the delay.
      if (await anyAlive(members)) await delay(Math.max(0, deadline - performance.now()));
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

async function anyAlive(members: Map<number, bigint | undefined>): Promise<boolean> {
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

class LocalHost extends BaseHost {
  readonly name = "local";
  readonly transport = "local" as const;

  protected prepare(): void {}

  protected async execCommand(
    spec: CommandSpec,
    options: ExecOptions,
    op: Operation,
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
    op.signal.addEventListener("abort", onStop, { once: true });
    let result: Awaited<typeof subprocess>;
    try {
      result = await subprocess;
    } finally {
      op.signal.removeEventListener("abort", onStop);
    }
    const stdout = toBuffer(result.stdout);
    const stderr = toBuffer(result.stderr);
    if (op.stopReason) throw new ExecStopped(stdout, stderr);
    if (result.isMaxBuffer) {
      const stream = /stderr/.test(result.shortMessage ?? "") ? "stderr" : "stdout";
      throw new HostMaxBufferError(spec.argv, stream, maxBuffer, { host: this.name });
    }
    if (result.failed && result.exitCode === undefined && result.signal === undefined)
      throw await spawnError(spec.argv, spec.cwd, result.cause);
    return { stdout, stderr, exitCode: result.exitCode ?? null, signal: result.signal ?? null };
  }

  protected spawnCommand(spec: CommandSpec, options: SpawnOptions): LocalProcess {
    return new LocalProcess(spec, options);
  }

  protected async readFileImpl(path: string, op: Operation): Promise<Buffer> {
    try {
      return await readFile(path, { signal: op.signal });
    } catch (error) {
      throw systemError("readFile", error, path);
    }
  }

  protected async writeFileImpl(
    path: string,
    data: Buffer,
    mode: number | undefined,
    op: Operation,
  ): Promise<void> {
    try {
      const handle = await open(path, "w", mode ?? 0o666);
      try {
        // Exact mode, not masked by the umask, before any data: a key is never readable by others.
        if (mode !== undefined) await handle.chmod(mode);
        await handle.writeFile(data, { signal: op.signal });
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw systemError("writeFile", error, path);
    }
  }

  protected async removeImpl(path: string, recursive: boolean): Promise<void> {
    try {
      const info = await lstat(path).catch((error: unknown) => {
        if (errnoOf(error) === "ENOENT") return undefined;
        throw error;
      });
      if (!info) return;
      if (!info.isDirectory()) await unlink(path);
      else if (recursive) await rm(path, { recursive: true, force: true });
      else await rmdir(path);
    } catch (error) {
      throw systemError("remove", error, path);
    }
  }

  protected async makePrivateDirImpl(parent: string | undefined, prefix: string): Promise<string> {
    const base = parent ?? tmpdir();
    try {
      // mkdtemp creates the directory with mode 0700.
      return await mkdtemp(join(base, prefix));
    } catch (error) {
      throw systemError("makePrivateDir", error, base);
    }
  }

  protected async existsImpl(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR") return false;
      throw systemError("exists", error, path);
    }
  }

  protected connectUnixImpl(path: string, op: Operation): Promise<Duplex> {
    return connected(createConnection({ path }), path, op);
  }

  protected async connectTcpImpl(port: number, address: string, op: Operation): Promise<Duplex> {
    const socket = await connected(
      createConnection({ port, host: address }),
      `${address}:${port}`,
      op,
    );
    socket.setNoDelay(true);
    return socket;
  }

  protected async readProcFile(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(path);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ESRCH") return undefined;
      throw systemError("processInfo", error, path);
    }
  }

  protected async killImpl(
    pid: number,
    signal: NodeJS.Signals,
    startTime: bigint | undefined,
  ): Promise<boolean> {
    if (startTime !== undefined) {
      const stat = await this.readProcFile(`/proc/${pid}/stat`);
      const parsed = stat && parseProcStat(stat.toString("utf8"));
      if (!parsed || parsed.startTime !== startTime) return false;
    }
    try {
      process.kill(pid, signal);
      return true;
    } catch (error) {
      if (errnoOf(error) === "ESRCH") return false;
      throw new HostSystemError(
        "kill",
        errnoOf(error) ?? "EIO",
        `${signal} to ${pid}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  protected async shutdown(): Promise<void> {}

  protected shutdownNow(): void {}
}

/** A process started by `localHost().spawn()`. */
class LocalProcess extends ProcessBase {
  readonly argv: readonly string[];
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly pid: Promise<number>;
  readonly exited: Promise<ProcessExit>;
  protected readonly forceKillAfterMs: number;
  readonly #child: ResultPromise;
  #failure: Error | undefined;

  constructor(spec: CommandSpec, options: SpawnOptions) {
    super();
    const [file, ...args] = spec.argv as [string, ...string[]];
    const started = performance.now();
    this.argv = spec.argv;
    this.forceKillAfterMs = options.forceKillAfterMs ?? DEFAULT_FORCE_KILL_AFTER_MS;
    debug("local: spawn %s", describeArgv(spec.argv));
    const child = execa(file, args, {
      cwd: spec.cwd,
      env: environment(spec.env),
      extendEnv: false,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      buffer: false,
      encoding: "buffer",
      stripFinalNewline: false,
      reject: false,
      cleanup: true,
    });
    this.#child = child;
    child.catch(() => {});
    this.stdin = child.stdin;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    // Writing to a process that exited fails with EPIPE; `exited` tells the story.
    this.stdin.on("error", (error) => debug("local: stdin of %s: %s", file, error.message));
    const failed = new Promise<never>((_, reject) => {
      child.once("error", (error) => {
        void spawnError(spec.argv, spec.cwd, error).then(reject);
      });
    });
    this.pid = Promise.race([once(child, "spawn").then(() => child.pid!), failed]);
    this.exited = Promise.race([
      once(child, "exit").then(([exitCode, signal]) => {
        if (this.#failure) throw this.#failure;
        return { exitCode, signal, durationMs: performance.now() - started } as ProcessExit;
      }),
      failed,
    ]);
    this.pid.catch(() => {});
    this.exited.catch(() => {});
    const abort = options.signal;
    if (abort) {
      const onAbort = () => {
        this.#failure ??= new HostAbortError(`spawn ${describeArgv(spec.argv)}`, {
          cause: abort.reason,
        });
        void this.stop();
      };
      if (abort.aborted) onAbort();
      else {
        abort.addEventListener("abort", onAbort, { once: true });
        this.exited.then(
          () => abort.removeEventListener("abort", onAbort),
          () => abort.removeEventListener("abort", onAbort),
        );
      }
    }
  }

  async kill(signal: Signal = "SIGTERM"): Promise<boolean> {
    const name = signalName(signal);
    const child = this.#child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null)
      return false;
    return signalProcesses(await processTree(child.pid), name);
  }

  destroyNow(error: HostClosedError): void {
    this.#failure ??= error;
    void this.kill("SIGKILL");
  }
}
