import type { Duplex } from "node:stream";
import { type CallOptions, Deadline } from "@qemu-kvm/core";
import type { ClientChannel } from "ssh2";
import { HostExitError } from "../errors/command-errors.js";
import { describeArgv } from "../errors/describe.js";
import { HostSocketError, HostSystemError } from "../errors/host-errors.js";
import type { DirEntry, ExecOptions, FileStat, Host, SpawnOptions } from "../host.js";
import { BaseHost } from "../shared/base-host.js";
import { DEFAULT_FORCE_KILL_AFTER_MS } from "../shared/command-host.js";
import type { LocalSource } from "../shared/local-source.js";
import { debug, operations } from "../shared/observe.js";
import type { TrackedProcess } from "../shared/process-base.js";
import type { CommandSpec, RawExecResult } from "../shared/transport.js";
import { ChannelStream } from "./channel-stream.js";
import { connectSsh } from "./connect.js";
import type { SshConnection } from "./connection.js";
import { openRemote, RemoteCommand } from "./remote-command.js";
import { remoteCommand, waitForExitArgv } from "./remote-scripts.js";
import { makeDirOver, readDirOver, renameOver, statOver } from "./ssh-directories.js";
import { execRemote } from "./ssh-exec.js";
import {
  existsOver,
  readFileOver,
  readProcFileOver,
  removeOver,
  type SftpHost,
  writeFileOver,
} from "./ssh-files.js";
import { type ResolvedSshOptions, resolveSshOptions, type SshHostOptions } from "./ssh-options.js";
import { SshProcess } from "./ssh-process.js";
import { putFileOver } from "./ssh-put-file.js";
import { StreamSocket } from "./stream-socket.js";

/** A `Host` over SSH. */
export interface SshHost extends Host {
  readonly transport: "ssh";
  /** The server's host key (`SHA256:…`) as seen on the last connection. */
  readonly hostKeyFingerprint: string;
}

/**
 * A remote machine as a `Host`, over one persistent SSH connection (ssh2) that
 * every call shares: commands in their own session channels, files over one SFTP
 * session, sockets through stream-local and TCP forwarding. If the connection
 * drops, calls in flight reject with `ERR_HOST_CONNECTION_LOST` and the next call
 * connects again. Resolves once connected, authenticated and the host key
 * verified; the options are checked synchronously (`ERR_INVALID_ARGUMENT`).
 *
 * With `sock`, the connection runs over a stream the caller connected (a
 * guest's sshd through a port another host forwards); a drop then closes the
 * host, unless `sock` is a function that opens a new stream.
 *
 * ```ts
 * await using host = await connectSshHost({
 *   host: "lab1", user: "root", privateKeyFile: "/home/me/.ssh/id_ed25519",
 *   hostKey: { knownHostsFile: "/home/me/.ssh/known_hosts" },
 * });
 * const { stdout } = await host.exec("uname", ["-r"]);
 * ```
 */
export function connectSshHost(options: SshHostOptions): Promise<SshHost> {
  const resolved = resolveSshOptions(options);
  const host = new SshTransport(resolved);
  return host.connectFirst({ signal: options.signal, timeoutMs: options.timeoutMs }).then(
    () => host,
    (error: unknown) => {
      host.destroy(error);
      throw error;
    },
  );
}

function channelOpenFailure(error: unknown): { systemCode: string | undefined; message: string } {
  const message = (error as Error).message.replace(/^\(SSH\) Channel open failure: /, "");
  return { systemCode: /refused/i.test(message) ? "ECONNREFUSED" : undefined, message };
}

class SshTransport extends BaseHost implements SshHost, SftpHost {
  readonly transport = "ssh" as const;
  readonly name: string;
  #connection: Promise<SshConnection> | undefined;
  #fingerprint = "";
  /** The streams the connections run over, when `sock` was given. */
  readonly #socket: StreamSocket | undefined;

  /** Private: no option is ever shown (`util.inspect`, `JSON.stringify`); the secrets are not even here (see `credentials`). */
  readonly #options: ResolvedSshOptions;

  constructor(options: ResolvedSshOptions) {
    super(options.defaultTimeouts);
    this.#options = options;
    this.name = options.name;
    this.#socket = options.sock && new StreamSocket(options.sock, options.name);
  }

  get hostKeyFingerprint(): string {
    return this.#fingerprint;
  }

  protected override facts(): Record<string, unknown> {
    return { ...super.facts(), hostKeyFingerprint: this.#fingerprint };
  }

  /** The first connection, within the caller's `signal` and `timeoutMs` (default `connectTimeoutMs`). */
  async connectFirst(options: CallOptions): Promise<void> {
    await this.#connect(options);
  }

  /**
   * The shared connection attempt: one at a time, reused by every caller (who
   * race their own deadlines). A reconnection has `connectTimeoutMs`.
   */
  #connect(options: CallOptions = {}): Promise<SshConnection> {
    const socket = this.#socket;
    // The one stream given is gone with its connection: nothing to connect again.
    const closed = this.closedError;
    if (!this.#connection && closed && socket && !socket.reconnects) return Promise.reject(closed);
    if (!this.#connection) {
      const deadline = new Deadline(
        `connect ${this.name}`,
        { signal: options.signal, timeoutMs: options.timeoutMs ?? this.#options.connectTimeoutMs },
        { lifetime: this.lifetime },
      );
      const attempt = operations
        .trace("connect", this.name, () =>
          connectSsh(this.#options, deadline, socket && ((stop) => socket.open(stop))),
        )
        .finally(() => deadline.dispose());
      this.#connection = attempt;
      attempt.then(
        (connection) => {
          this.#fingerprint = connection.fingerprint;
          connection.onLost((lost) => {
            if (this.#connection === attempt) this.#connection = undefined;
            // A stream given once cannot be opened again: the host is done.
            if (socket && !socket.reconnects) this.refuseCalls(lost);
          });
        },
        () => {
          if (this.#connection === attempt) this.#connection = undefined;
        },
      );
    }
    return this.#connection;
  }

  /** The live connection, connecting again if it was lost. */
  live(deadline: Deadline): Promise<SshConnection> {
    return deadline.race(this.#connect());
  }

  protected prepare(spec: CommandSpec): void {
    remoteCommand(spec.argv, spec);
  }

  protected async execCommand(
    spec: CommandSpec,
    options: ExecOptions,
    deadline: Deadline,
  ): Promise<RawExecResult> {
    return execRemote(await this.live(deadline), spec, options, deadline);
  }

  protected spawnCommand(
    spec: CommandSpec,
    options: SpawnOptions,
    deadline: Deadline,
  ): TrackedProcess {
    const forceKillAfterMs = options.forceKillAfterMs ?? DEFAULT_FORCE_KILL_AFTER_MS;
    const command = remoteCommand(spec.argv, spec);
    debug("ssh %s: spawn %s", this.name, describeArgv(spec.argv));
    const start = async (signal: AbortSignal) => {
      const connection = await this.#connect();
      const remote = new RemoteCommand(connection, spec.argv);
      await openRemote(remote, command, { signal, forceKillAfterMs });
      return remote;
    };
    // Reads /proc for `pid` (see execCompleted): any failure there is only "not known yet".
    const readProcFile = (path: string, signal: AbortSignal) => {
      const check = new Deadline(`read ${path}`, { signal });
      return readProcFileOver(this, path, check).finally(() => check.dispose());
    };
    return new SshProcess(spec.argv, start, {
      forceKillAfterMs,
      readProcFile,
      deadline,
      host: this.name,
    });
  }

  /** Runs a helper command (mktemp, rm, uname) and returns its stdout; failures become `ERR_HOST_SYSTEM`. */
  async #helper(
    operation: string,
    argv: string[],
    path: string | undefined,
    deadline: Deadline,
  ): Promise<string> {
    const spec: CommandSpec = { argv, cwd: undefined, env: { LC_ALL: "C" } };
    const result = await this.execCommand(spec, {}, deadline);
    if (result.exitCode === 0) return result.stdout.toString("utf8");
    const failure = new HostExitError({ argv, ...result, durationMs: 0, host: this.name });
    const stderr = result.stderr.toString().trim();
    const systemCode = /No such file/i.test(stderr)
      ? "ENOENT"
      : /Permission denied/i.test(stderr)
        ? "EACCES"
        : "EIO";
    throw new HostSystemError({
      operation,
      systemCode,
      message: stderr || failure.message,
      host: this.name,
      path,
      cause: failure,
    });
  }

  protected readFileImpl(path: string, maxBytes: number, deadline: Deadline): Promise<Buffer> {
    return readFileOver(this, path, maxBytes, deadline);
  }

  protected writeFileImpl(
    path: string,
    data: Buffer,
    mode: number | undefined,
    deadline: Deadline,
  ): Promise<void> {
    return writeFileOver(this, path, data, mode, deadline);
  }

  protected removeImpl(path: string, recursive: boolean, deadline: Deadline): Promise<void> {
    return removeOver(this, path, recursive, deadline, async () => {
      await this.#helper("remove", ["rm", "-rf", "--", path], path, deadline);
    });
  }

  protected async makePrivateDirImpl(
    parent: string | undefined,
    prefix: string,
    deadline: Deadline,
  ): Promise<string> {
    let base = parent ?? "/tmp";
    if (base.startsWith("-")) base = `./${base}`;
    // mktemp -d creates the directory with mode 0700.
    const output = await this.#helper(
      "makePrivateDir",
      ["mktemp", "-d", `${base}/${prefix}XXXXXXXX`],
      base,
      deadline,
    );
    return output.replace(/\n$/, "");
  }

  protected existsImpl(path: string, deadline: Deadline): Promise<boolean> {
    return existsOver(this, path, deadline);
  }

  protected makeDirImpl(
    path: string,
    mode: number,
    parents: boolean,
    deadline: Deadline,
  ): Promise<void> {
    return makeDirOver(this, path, mode, parents, deadline);
  }

  protected readDirImpl(path: string, maxEntries: number, deadline: Deadline): Promise<DirEntry[]> {
    return readDirOver(this, path, maxEntries, deadline);
  }

  protected statImpl(path: string, deadline: Deadline): Promise<FileStat | undefined> {
    return statOver(this, path, deadline);
  }

  protected renameImpl(from: string, to: string, deadline: Deadline): Promise<void> {
    return renameOver(this, from, to, deadline);
  }

  protected putFileImpl(
    source: LocalSource,
    path: string,
    mode: number | undefined,
    deadline: Deadline,
  ): Promise<number> {
    return putFileOver(this, source, path, mode, deadline);
  }

  async #forward(
    target: string,
    open: (connection: SshConnection) => Promise<ClientChannel>,
    deadline: Deadline,
  ): Promise<Duplex> {
    const connection = await this.live(deadline);
    let channel: ClientChannel;
    try {
      channel = await deadline.race(open(connection), (late) => late.close());
    } catch (error) {
      if (deadline.stopped || connection.lostError) throw error;
      const { systemCode, message } = channelOpenFailure(error);
      throw new HostSocketError({ target, systemCode, message, host: this.name, cause: error });
    }
    const stream = new ChannelStream(channel, { target, host: this.name });
    const unsubscribe = connection.onLost((lost) => stream.destroy(lost));
    stream.once("close", unsubscribe);
    return stream;
  }

  protected connectUnixImpl(path: string, deadline: Deadline): Promise<Duplex> {
    return this.#forward(path, (connection) => connection.forwardUnix(path), deadline);
  }

  protected connectTcpImpl(host: string, port: number, deadline: Deadline): Promise<Duplex> {
    return this.#forward(
      `${host}:${port}`,
      (connection) => connection.forwardTcp(host, port),
      deadline,
    );
  }

  protected readProcFile(path: string, deadline: Deadline): Promise<Buffer | undefined> {
    return readProcFileOver(this, path, deadline);
  }

  protected async killImpl(
    pid: number,
    signal: NodeJS.Signals,
    startTime: bigint | undefined,
    deadline: Deadline,
  ): Promise<boolean> {
    const connection = await this.live(deadline);
    const outcome = await deadline.race(
      connection.guard(connection.supervisor.signal(pid, signal.slice(3), startTime, false)),
    );
    if (outcome === "refused")
      throw new HostSystemError({
        operation: "kill",
        systemCode: "EPERM",
        message: `${signal} to ${pid} was refused`,
        host: this.name,
      });
    return outcome === "sent";
  }

  protected async waitForExitImpl(
    pid: number,
    startTime: bigint | undefined,
    deadline: Deadline,
  ): Promise<void> {
    await this.#helper("waitForExit", waitForExitArgv(pid, startTime), undefined, deadline);
  }

  protected async architectureImpl(deadline: Deadline): Promise<string> {
    const connection = await this.live(deadline);
    return connection.fact("architecture", async () =>
      (await this.#helper("architecture", ["uname", "-m"], undefined, deadline)).trim(),
    );
  }

  protected async shutdown(): Promise<void> {
    const connection = await this.#connection?.catch(() => undefined);
    this.#connection = undefined;
    await connection?.end();
  }

  protected shutdownNow(): void {
    const pending = this.#connection;
    this.#connection = undefined;
    void pending?.then(
      (connection) => connection.destroy(),
      () => {},
    );
  }
}
