import { Duplex } from "node:stream";
import type { ClientChannel } from "ssh2";
import {
  BaseHost,
  type CommandSpec,
  DEFAULT_FORCE_KILL_AFTER_MS,
  DEFAULT_MAX_BUFFER,
  ExecStopped,
  type RawExecResult,
  type TrackedProcess,
} from "./base-host.js";
import { debug } from "./debug.js";
import {
  describeArgv,
  HostClosedError,
  HostExitError,
  HostMaxBufferError,
  HostSocketError,
  HostSystemError,
} from "./errors.js";
import type { ExecOptions, Host, SpawnOptions } from "./host.js";
import type { Operation } from "./operation.js";
import { remoteCommand } from "./remote-scripts.js";
import { SshConnection } from "./ssh-connection.js";
import {
  hasEntries,
  lstat,
  readWholeFile,
  rmdir,
  sftpCode,
  sftpError,
  stat,
  unlink,
  writeWholeFile,
} from "./ssh-files.js";
import { type ResolvedSshOptions, resolveSshOptions, type SshHostOptions } from "./ssh-options.js";
import { openRemote, RemoteCommand, SshProcess } from "./ssh-process.js";

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
 * connects again. Resolves once connected, authenticated and the host key verified.
 *
 * ```ts
 * await using host = await sshHost({
 *   host: "lab1", user: "root", privateKeyFile: "/home/me/.ssh/id_ed25519",
 *   hostKey: { knownHostsFile: "/home/me/.ssh/known_hosts" },
 * });
 * const { stdout } = await host.exec("uname", ["-r"]);
 * ```
 */
export function sshHost(options: SshHostOptions): Promise<SshHost> {
  const resolved = resolveSshOptions(options);
  const host = new SshTransport(resolved);
  return host.connect(options.signal).then(
    () => host,
    (error: unknown) => {
      host.destroy(error);
      throw error;
    },
  );
}

/** A forwarded channel as an ordinary duplex stream: `destroy(error)` works as on a socket. */
class ChannelStream extends Duplex {
  constructor(readonly channel: ClientChannel) {
    super({ allowHalfOpen: true });
    channel.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) channel.pause();
    });
    channel.once("end", () => this.push(null));
    channel.on("error", (error: Error) => this.destroy(error));
    channel.once("close", () => {
      // Closed both ways: whatever was received stays readable; nothing more can be written.
      this.push(null);
      if (!this.writableEnded) this.end();
    });
  }

  override _read(): void {
    this.channel.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.channel.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.channel.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.channel.close();
    callback(error);
  }
}

function channelOpenFailure(error: unknown): { systemCode: string | undefined; message: string } {
  const message = (error as Error).message.replace(/^\(SSH\) Channel open failure: /, "");
  return { systemCode: /refused/i.test(message) ? "ECONNREFUSED" : undefined, message };
}

class SshTransport extends BaseHost implements SshHost {
  readonly transport = "ssh" as const;
  readonly name: string;
  #connection: Promise<SshConnection> | undefined;
  #fingerprint = "";

  constructor(readonly options: ResolvedSshOptions) {
    super();
    this.name = options.name;
  }

  get hostKeyFingerprint(): string {
    return this.#fingerprint;
  }

  /** The first connection (with the caller's signal). */
  async connect(signal?: AbortSignal): Promise<void> {
    await this.#connect(signal);
  }

  /** The shared connection attempt: one at a time, reused by every caller. */
  #connect(signal?: AbortSignal): Promise<SshConnection> {
    if (!this.#connection) {
      const attempt = SshConnection.open(this.options, this.lifetime, signal);
      this.#connection = attempt;
      attempt.then(
        (connection) => {
          this.#fingerprint = connection.fingerprint;
          connection.onLost(() => {
            if (this.#connection === attempt) this.#connection = undefined;
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
  #live(op: Operation): Promise<SshConnection> {
    return op.race(this.#connect());
  }

  protected prepare(spec: CommandSpec): void {
    remoteCommand(spec.argv, spec);
  }

  protected async execCommand(
    spec: CommandSpec,
    options: ExecOptions,
    op: Operation,
  ): Promise<RawExecResult> {
    const connection = await this.#live(op);
    const command = remoteCommand(spec.argv, spec);
    const forceKillAfterMs = options.forceKillAfterMs ?? DEFAULT_FORCE_KILL_AFTER_MS;
    const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
    debug("ssh %s: exec %s", this.name, describeArgv(spec.argv));
    const remote = new RemoteCommand(connection, spec.argv);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let overflow: "stdout" | "stderr" | undefined;
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void remote.terminate(forceKillAfterMs);
    };
    const collect = (stream: "stdout" | "stderr", into: Buffer[]) => {
      let size = 0;
      remote[stream].on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBuffer) {
          overflow ??= stream;
          stop();
          return;
        }
        into.push(chunk);
      });
    };
    collect("stdout", stdout);
    collect("stderr", stderr);
    const ended = Promise.all([
      new Promise((resolve) => remote.stdout.once("end", resolve)),
      new Promise((resolve) => remote.stderr.once("end", resolve)),
    ]);
    remote.stdin.end(options.input ?? "");
    op.signal.addEventListener("abort", stop, { once: true });
    try {
      await openRemote(remote, command, { signal: op.signal, forceKillAfterMs });
      const header = await remote.header;
      const failure = remote.spawnFailure(header);
      // After a stop, wait for the channel to close (the stop closes it if need be).
      const exit = await remote.exit.catch(async (error: unknown) => {
        if (op.stopReason) return undefined;
        throw error;
      });
      await ended;
      await remote.closed;
      if (op.stopReason) throw new ExecStopped(Buffer.concat(stdout), Buffer.concat(stderr));
      if (overflow)
        throw new HostMaxBufferError(spec.argv, overflow, maxBuffer, { host: this.name });
      if (failure) throw failure;
      if (!exit) throw op.error();
      return {
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr),
        exitCode: exit.exitCode,
        signal: exit.signal,
      };
    } catch (error) {
      if (op.stopReason && !(error instanceof ExecStopped)) {
        await remote.closed;
        throw new ExecStopped(Buffer.concat(stdout), Buffer.concat(stderr));
      }
      throw error;
    } finally {
      op.signal.removeEventListener("abort", stop);
    }
  }

  protected spawnCommand(spec: CommandSpec, options: SpawnOptions): TrackedProcess {
    const forceKillAfterMs = options.forceKillAfterMs ?? DEFAULT_FORCE_KILL_AFTER_MS;
    const command = remoteCommand(spec.argv, spec);
    debug("ssh %s: spawn %s", this.name, describeArgv(spec.argv));
    const start = async () => {
      const connection = await this.#connect();
      const remote = new RemoteCommand(connection, spec.argv);
      await openRemote(remote, command, { forceKillAfterMs });
      return remote;
    };
    const readProcFile = async (path: string) => {
      const connection = await this.#connect();
      return connection.guard(connection.sftp().then((sftp) => readWholeFile(sftp, path)));
    };
    return new SshProcess(spec.argv, start, forceKillAfterMs, options.signal, readProcFile);
  }

  /** Runs a helper command (mktemp, rm) and returns its stdout; failures become `ERR_HOST_SYSTEM`. */
  async #helper(operation: string, argv: string[], path: string, op: Operation): Promise<string> {
    const spec: CommandSpec = { argv, cwd: undefined, env: { LC_ALL: "C" } };
    const result = await this.execCommand(spec, {}, op);
    if (result.exitCode === 0) return result.stdout.toString("utf8");
    const failure = new HostExitError({ argv, ...result, durationMs: 0 }, { host: this.name });
    const stderr = result.stderr.toString().trim();
    const systemCode = /No such file/i.test(stderr)
      ? "ENOENT"
      : /Permission denied/i.test(stderr)
        ? "EACCES"
        : "EIO";
    throw new HostSystemError(operation, systemCode, stderr || failure.message, {
      cause: failure,
      path,
      host: this.name,
    });
  }

  async #sftp(op: Operation) {
    const connection = await this.#live(op);
    return { connection, sftp: await op.race(connection.sftp(op.signal)) };
  }

  protected async readFileImpl(path: string, op: Operation): Promise<Buffer> {
    const { connection, sftp } = await this.#sftp(op);
    try {
      return await op.race(connection.guard(readWholeFile(sftp, path)));
    } catch (error) {
      if (op.stopReason || error instanceof HostClosedError || !(error instanceof Error))
        throw error;
      if ((error as { errno?: string }).errno === "EISDIR")
        throw sftpError("readFile", error, path, this.name, "EISDIR");
      if (connection.lostError) throw error;
      throw sftpError("readFile", error, path, this.name);
    }
  }

  protected async writeFileImpl(
    path: string,
    data: Buffer,
    mode: number | undefined,
    op: Operation,
  ): Promise<void> {
    const { connection, sftp } = await this.#sftp(op);
    try {
      await op.race(connection.guard(writeWholeFile(sftp, path, data, mode)));
    } catch (error) {
      if (op.stopReason || connection.lostError) throw error;
      // SFTP says only "failure": tell a directory apart.
      const isDirectory = await stat(sftp, path).then(
        (info) => info.isDirectory(),
        () => false,
      );
      throw sftpError("writeFile", error, path, this.name, isDirectory ? "EISDIR" : undefined);
    }
  }

  protected async removeImpl(path: string, recursive: boolean, op: Operation): Promise<void> {
    const { connection, sftp } = await this.#sftp(op);
    const info = await op.race(connection.guard(lstat(sftp, path))).catch((error: unknown) => {
      if (!op.stopReason && !connection.lostError && sftpCode(error) === "ENOENT") return undefined;
      if (op.stopReason || connection.lostError) throw error;
      throw sftpError("remove", error, path, this.name);
    });
    if (!info) return;
    if (info.isDirectory() && recursive) {
      await this.#helper("remove", ["rm", "-rf", "--", path], path, op);
      return;
    }
    try {
      await op.race(connection.guard(info.isDirectory() ? rmdir(sftp, path) : unlink(sftp, path)));
    } catch (error) {
      if (op.stopReason || connection.lostError) throw error;
      if (sftpCode(error) === "ENOENT") return;
      const notEmpty = info.isDirectory() && (await hasEntries(sftp, path).catch(() => false));
      throw sftpError("remove", error, path, this.name, notEmpty ? "ENOTEMPTY" : undefined);
    }
  }

  protected async makePrivateDirImpl(
    parent: string | undefined,
    prefix: string,
    op: Operation,
  ): Promise<string> {
    let base = parent ?? "/tmp";
    if (base.startsWith("-")) base = `./${base}`;
    // mktemp -d creates the directory with mode 0700.
    const output = await this.#helper(
      "makePrivateDir",
      ["mktemp", "-d", `${base}/${prefix}XXXXXXXX`],
      base,
      op,
    );
    return output.replace(/\n$/, "");
  }

  protected async existsImpl(path: string, op: Operation): Promise<boolean> {
    const { connection, sftp } = await this.#sftp(op);
    try {
      await op.race(connection.guard(stat(sftp, path)));
      return true;
    } catch (error) {
      if (op.stopReason || connection.lostError) throw error;
      if (sftpCode(error) === "ENOENT") return false;
      throw sftpError("exists", error, path, this.name);
    }
  }

  async #forward(
    target: string,
    open: (connection: SshConnection) => Promise<ClientChannel>,
    op: Operation,
  ) {
    const connection = await this.#live(op);
    let channel: ClientChannel;
    try {
      channel = await op.race(open(connection), (late) => late.close());
    } catch (error) {
      if (op.stopReason || connection.lostError) throw error;
      const { systemCode, message } = channelOpenFailure(error);
      throw new HostSocketError(target, systemCode, message, { cause: error, host: this.name });
    }
    const stream = new ChannelStream(channel);
    const unsubscribe = connection.onLost((lost) => stream.destroy(lost));
    stream.once("close", unsubscribe);
    return stream;
  }

  protected connectUnixImpl(path: string, op: Operation): Promise<Duplex> {
    return this.#forward(path, (connection) => connection.forwardUnix(path), op);
  }

  protected connectTcpImpl(port: number, address: string, op: Operation): Promise<Duplex> {
    return this.#forward(
      `${address}:${port}`,
      (connection) => connection.forwardTcp(address, port),
      op,
    );
  }

  protected async readProcFile(path: string, op: Operation): Promise<Buffer | undefined> {
    const { connection, sftp } = await this.#sftp(op);
    try {
      return await op.race(connection.guard(readWholeFile(sftp, path)));
    } catch (error) {
      if (op.stopReason || connection.lostError) throw error;
      // A process that exits while it is read: its files vanish, or fail to read.
      if (sftpCode(error) === "ENOENT") return undefined;
      const stillThere = await stat(sftp, path).then(
        () => true,
        () => false,
      );
      if (!stillThere) return undefined;
      throw sftpError("processInfo", error, path, this.name);
    }
  }

  protected async killImpl(
    pid: number,
    signal: NodeJS.Signals,
    startTime: bigint | undefined,
    op: Operation,
  ): Promise<boolean> {
    const connection = await this.#live(op);
    const outcome = await op.race(
      connection.guard(connection.supervisor.signal(pid, signal.slice(3), startTime, false)),
    );
    if (outcome === "refused")
      throw new HostSystemError("kill", "EPERM", `${signal} to ${pid} was refused`, {
        host: this.name,
      });
    return outcome === "sent";
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
