import { once } from "node:events";
import { lstat, mkdtemp, open, readFile, rm, rmdir, stat, unlink } from "node:fs/promises";
import { createConnection, type Socket } from "node:net";
import { machine, tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { checkObject, checkOptionKeys, type Deadline } from "@qemu-kvm/core";
import { HostSocketError, HostSystemError } from "../errors/host-errors.js";
import type { DirEntry, ExecOptions, FileStat, Host, SpawnOptions } from "../host.js";
import { BaseHost } from "../shared/base-host.js";
import {
  type DefaultTimeouts,
  resolveDefaultTimeouts,
  type TimedOperation,
} from "../shared/default-timeouts.js";
import type { LocalSource } from "../shared/local-source.js";
import { hasExited, parseProcStat, pollUntilExited } from "../shared/proc.js";
import type { CommandSpec, RawExecResult } from "../shared/transport.js";
import { errnoOf, LOCAL, systemError } from "./local-errors.js";
import { execLocal } from "./local-exec.js";
import {
  makeDirLocal,
  putFileLocal,
  readDirLocal,
  readFileLocal,
  renameLocal,
  statLocal,
} from "./local-files.js";
import { LocalProcess } from "./local-process.js";

/** `createLocalHost`'s options. */
export interface LocalHostOptions {
  /** Each operation's deadline when a call gives no `timeoutMs` (default: `DEFAULT_TIMEOUTS`). */
  defaultTimeouts?: DefaultTimeouts;
}

/**
 * This machine as a `Host`. Commands run with execa from argv, never through a
 * shell; files, sockets and processes are this machine's. Nothing to connect:
 * it is ready at once. The options are checked synchronously
 * (`ERR_INVALID_ARGUMENT`).
 *
 * ```ts
 * await using host = createLocalHost();
 * const { stdout } = await host.exec("uname", ["-r"]);
 * ```
 */
export function createLocalHost(options?: LocalHostOptions): Host {
  if (options === undefined) return new LocalHost(resolveDefaultTimeouts(undefined));
  checkObject(options, "options");
  checkOptionKeys(options, ["defaultTimeouts"]);
  return new LocalHost(resolveDefaultTimeouts(options.defaultTimeouts));
}

/** Waits for a new socket to connect; destroys it if the call stops first. */
async function connected(socket: Socket, target: string, deadline: Deadline): Promise<Socket> {
  try {
    await deadline.race(once(socket, "connect"));
    return socket;
  } catch (error) {
    socket.destroy();
    if (deadline.stopped) throw error;
    throw new HostSocketError({
      target,
      systemCode: errnoOf(error),
      message: (error as Error).message,
      host: LOCAL,
      cause: error,
    });
  }
}

class LocalHost extends BaseHost {
  readonly name = LOCAL;
  readonly transport = "local" as const;

  constructor(defaultTimeouts: Readonly<Record<TimedOperation, number>>) {
    super(defaultTimeouts);
  }

  protected prepare(): void {}

  protected execCommand(
    spec: CommandSpec,
    options: ExecOptions,
    deadline: Deadline,
  ): Promise<RawExecResult> {
    return execLocal(spec, options, deadline);
  }

  protected spawnCommand(spec: CommandSpec, options: SpawnOptions, deadline: Deadline) {
    return new LocalProcess(spec, options, deadline);
  }

  protected readFileImpl(path: string, maxBytes: number, deadline: Deadline): Promise<Buffer> {
    return readFileLocal(path, maxBytes, deadline);
  }

  protected async writeFileImpl(
    path: string,
    data: Buffer,
    mode: number | undefined,
    deadline: Deadline,
  ): Promise<void> {
    try {
      // Raced: opening a FIFO nobody reads waits for a reader, for ever.
      const handle = await deadline.race(open(path, "w", mode ?? 0o666), (late) => {
        void late.close().catch(() => {});
      });
      try {
        // Exact mode, not masked by the umask, before any data: a key is never readable by others.
        if (mode !== undefined) await handle.chmod(mode);
        await deadline.race(handle.writeFile(data, { signal: deadline.signal }));
      } finally {
        // A write still pending (a full FIFO) holds the close until it ends: not the call.
        const closing = handle.close();
        if (!deadline.stopped) await closing;
        else closing.catch(() => {});
      }
    } catch (error) {
      if (deadline.stopped) throw error;
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

  protected makeDirImpl(path: string, mode: number, parents: boolean): Promise<void> {
    return makeDirLocal(path, mode, parents);
  }

  protected readDirImpl(path: string, maxEntries: number, deadline: Deadline): Promise<DirEntry[]> {
    return readDirLocal(path, maxEntries, deadline);
  }

  protected statImpl(path: string): Promise<FileStat | undefined> {
    return statLocal(path);
  }

  protected renameImpl(from: string, to: string): Promise<void> {
    return renameLocal(from, to);
  }

  protected putFileImpl(
    source: LocalSource,
    path: string,
    mode: number | undefined,
    deadline: Deadline,
  ): Promise<number> {
    return putFileLocal(source, path, mode, deadline);
  }

  protected connectUnixImpl(path: string, deadline: Deadline): Promise<Duplex> {
    return connected(createConnection({ path }), path, deadline);
  }

  protected async connectTcpImpl(host: string, port: number, deadline: Deadline): Promise<Duplex> {
    const socket = await connected(createConnection({ port, host }), `${host}:${port}`, deadline);
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
    // A zombie has exited: signalling it would "succeed" and do nothing.
    const stat = await this.readProcFile(`/proc/${pid}/stat`);
    const parsed = stat && parseProcStat(stat.toString("utf8"));
    if (parsed && hasExited(parsed.state)) return false;
    if (startTime !== undefined && parsed?.startTime !== startTime) return false;
    try {
      process.kill(pid, signal);
      return true;
    } catch (error) {
      if (errnoOf(error) === "ESRCH") return false;
      throw new HostSystemError({
        operation: "kill",
        systemCode: errnoOf(error) ?? "EIO",
        message: `${signal} to ${pid}: ${(error as Error).message}`,
        host: LOCAL,
        cause: error,
      });
    }
  }

  protected waitForExitImpl(
    pid: number,
    startTime: bigint | undefined,
    deadline: Deadline,
  ): Promise<void> {
    return pollUntilExited(pid, startTime, (path) => this.readProcFile(path), deadline.signal);
  }

  protected async architectureImpl(): Promise<string> {
    return machine();
  }

  protected async shutdown(): Promise<void> {}

  protected shutdownNow(): void {}
}
