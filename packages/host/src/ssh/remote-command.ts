import { PassThrough } from "node:stream";
import type { ClientChannel } from "ssh2";
import { HostSpawnError } from "../errors/command-errors.js";
import { describeArgv, outputTail } from "../errors/describe.js";
import { HostConnectionLostError, HostSystemError } from "../errors/host-errors.js";
import { debug } from "../shared/observe.js";
import { settlesWithin } from "../shared/process-base.js";
import type { SshConnection } from "./connection.js";
import { type Header, HeaderStripper } from "./remote-scripts.js";
import { SessionRefusedError } from "./session-slots.js";

export interface RemoteExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

const SPAWN_FAILURES = {
  "not-found": "not found",
  "not-executable": "not an executable file",
  "bad-cwd": "the working directory cannot be entered",
} as const;

/**
 * One command running over SSH in its own session channel, under the wrapper
 * (see remote-scripts.ts). Exposes stdin, stdout (without the header) and stderr
 * as streams at once, before the channel is open, and settles:
 * - `header` when the wrapper reported the pid (or refused to start the command);
 * - `exit` when the exit status arrives;
 * - `closed` when the channel is closed (all output delivered).
 * A lost connection rejects what is pending with `ERR_HOST_CONNECTION_LOST`.
 */
export class RemoteCommand {
  readonly stdin = new PassThrough();
  readonly stdout = new HeaderStripper();
  readonly stderr = new PassThrough();
  readonly header: Promise<Header>;
  readonly exit: Promise<RemoteExit>;
  readonly closed: Promise<void>;
  #channel: ClientChannel | undefined;
  #exit: RemoteExit | undefined;
  #stderrTail = "";
  #settleHeader!: { resolve: (header: Header) => void; reject: (error: unknown) => void };
  #settleExit!: { resolve: (exit: RemoteExit) => void; reject: (error: unknown) => void };
  #settleClosed!: () => void;
  #finished = false;

  constructor(
    readonly connection: SshConnection,
    readonly argv: readonly string[],
  ) {
    this.header = new Promise((resolve, reject) => {
      this.#settleHeader = { resolve, reject };
    });
    this.exit = new Promise((resolve, reject) => {
      this.#settleExit = { resolve, reject };
    });
    this.closed = new Promise((resolve) => {
      this.#settleClosed = resolve;
    });
    this.header.catch(() => {});
    this.exit.catch(() => {});
    this.stdin.on("error", (error) => debug("ssh: stdin of %s: %s", argv[0], error.message));
    this.stdout.once("header", (header: Header) => {
      if (header.status === "ok") connection.supervisor.add(header.pid, header.startTime);
      this.#settleHeader.resolve(header);
    });
    // A malformed header (not our wrapper's output) ends the command.
    this.stdout.on("error", (error) => {
      this.#settleHeader.reject(
        new HostSpawnError({
          argv,
          reason: "remote-shell",
          detail: error.message,
          host: connection.name,
          cause: error,
        }),
      );
      this.#channel?.close();
    });
    this.stderr.on("error", (error) => debug("ssh: stderr of %s: %s", argv[0], error.message));
    this.stdout.once("preamble", (bytes: number) =>
      debug("ssh %s: the login shell printed %d bytes before the command", connection.name, bytes),
    );
    const unsubscribe = connection.onLost((error) => this.#fail(error));
    this.closed.then(unsubscribe);
  }

  get name(): string {
    return this.connection.name;
  }

  /** Wires the opened channel (the caller opened it within the session limit). */
  attach(channel: ClientChannel): void {
    // Given up on before its channel opened (see `openRemote`): the late channel is not wanted.
    if (this.#finished) {
      channel.close();
      return;
    }
    this.#channel = channel;
    // A channel error (rare: a protocol failure) is followed by its close, which tells the story.
    channel.on("error", (error: Error) =>
      debug("ssh %s: channel of %s: %s", this.name, this.argv[0], error.message),
    );
    channel.on("exit", (code: number | null, signal?: string) => {
      this.#exit = {
        exitCode: code ?? null,
        signal:
          code === null || code === undefined ? ((signal ?? null) as NodeJS.Signals | null) : null,
      };
      void this.header.then(
        (header) => this.connection.supervisor.remove(header.pid),
        () => {},
      );
      this.#settleExit.resolve(this.#exit);
    });
    channel.stderr.on("data", (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString("utf8")).slice(-4000);
    });
    channel.stderr.pipe(this.stderr);
    channel.pipe(this.stdout);
    this.stdin.pipe(channel);
    channel.once("close", () => this.#onClose());
  }

  #onClose(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (!this.stdout.header) {
      const said = outputTail(`${this.stdout.preamble}\n${this.#stderrTail}`);
      this.#settleHeader.reject(
        new HostSpawnError({
          argv: this.argv,
          reason: "remote-shell",
          detail: `the remote login shell did not run the command (is it a POSIX shell? a nologin account?)${said ? `:\n${said}` : ""}`,
          host: this.name,
        }),
      );
    }
    if (!this.#exit)
      this.#settleExit.reject(
        this.connection.lostError ??
          new HostConnectionLostError({
            message: `the channel of ${describeArgv(this.argv)} closed without an exit status`,
            host: this.name,
          }),
      );
    this.#settleClosed();
  }

  #fail(error: HostConnectionLostError): void {
    this.#finish(error, () => this.stdin.unpipe());
  }

  /** Rejects `header`/`exit` with `error` and closes the channel (the open failed or came too late). */
  abandon(error: unknown): void {
    this.#finish(error, () => this.#channel?.close());
  }

  /**
   * Ends it without an exit status: rejects `header`/`exit` with `error`, ends the
   * output streams, runs `also` (before `closed` settles) and settles `closed`.
   */
  #finish(error: unknown, also?: () => void): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#settleHeader.reject(error);
    this.#settleExit.reject(error);
    this.#channel?.unpipe(this.stdout);
    this.#channel?.stderr.unpipe(this.stderr);
    if (!this.stdout.writableEnded) this.stdout.end();
    if (!this.stderr.writableEnded) this.stderr.end();
    also?.();
    this.#settleClosed();
  }

  /** The start failure the header reports, if any. */
  spawnFailure(header: Header): HostSpawnError | undefined {
    if (header.status === "ok") return undefined;
    return new HostSpawnError({
      argv: this.argv,
      reason: header.status,
      detail: SPAWN_FAILURES[header.status],
      host: this.name,
    });
  }

  /**
   * Signals the command's process group through the supervisor. `false`: it had
   * exited. Needs the header (the pid); waits for it.
   */
  async signal(signal: NodeJS.Signals): Promise<boolean> {
    if (this.#exit) return false;
    const header = await this.header;
    if (header.status !== "ok" || this.#exit) return false;
    const outcome = await this.connection.supervisor.signal(
      header.pid,
      signal.slice(3),
      header.startTime,
      true,
    );
    if (outcome === "refused")
      throw new HostSystemError({
        operation: "kill",
        systemCode: "EPERM",
        message: `${signal} to process group ${header.pid} was refused`,
        host: this.name,
      });
    return outcome === "sent";
  }

  /**
   * Stops the command and what it started: SIGTERM to its process group, SIGKILL
   * after `forceKillAfterMs`, and the channel is closed if it still is not after
   * one more delay (a process outside the group holds the output).
   */
  async terminate(forceKillAfterMs: number): Promise<void> {
    const attempt = async (signal: NodeJS.Signals) => {
      await this.signal(signal).catch((error: unknown) =>
        debug("ssh %s: %s to %s failed: %s", this.name, signal, this.argv[0], String(error)),
      );
    };
    if (this.#finished) return;
    // Before the header the command has not started: wait for it (bounded).
    const started = await settlesWithin(this.header, forceKillAfterMs);
    if (started) {
      await attempt("SIGTERM");
      if (await settlesWithin(this.closed, forceKillAfterMs)) return;
      await attempt("SIGKILL");
      if (await settlesWithin(this.closed, forceKillAfterMs)) return;
      debug("ssh %s: %s still open after SIGKILL: closing its channel", this.name, this.argv[0]);
    }
    this.#channel?.close();
    // sshd answers a close only once the command's pipes are closed: a process that
    // escaped the group (setsid) and holds them would keep us waiting forever.
    if (await settlesWithin(this.closed, forceKillAfterMs)) return;
    debug("ssh %s: the channel of %s does not close: giving up on it", this.name, this.argv[0]);
    this.#detach();
  }

  /** Stops waiting for a channel that does not close: ends the streams, settles what is pending. */
  #detach(): void {
    if (this.#finished) return;
    this.#finish(
      new HostConnectionLostError({
        message: `the channel of ${describeArgv(this.argv)} did not close after SIGKILL`,
        host: this.name,
      }),
    );
  }
}

/**
 * Opens a session channel for `command` and attaches it to `remote`. If the caller
 * stops waiting (`signal`), a channel that opens later is stopped at once. Once
 * `remote` is given up on (a stop that found no channel to close: a server that
 * does not answer), it resolves without waiting for the open any longer; a
 * channel that opens later is closed.
 */
export function openRemote(
  remote: RemoteCommand,
  command: string,
  options: { signal?: AbortSignal; forceKillAfterMs: number },
): Promise<void> {
  const { connection } = remote;
  const opening = connection.openSession<ClientChannel>(
    "exec",
    (callback) => connection.client.exec(command, callback),
    { signal: options.signal, onChannel: (channel) => remote.attach(channel) },
  );
  opening.catch(() => {});
  return Promise.race([opening, remote.closed]).then(
    () => {
      if (options.signal?.aborted) void remote.terminate(options.forceKillAfterMs);
    },
    (error: unknown) => {
      const failure = sessionFailure(
        error,
        (refusal) =>
          new HostSpawnError({
            argv: remote.argv,
            reason: "system",
            detail: refusal.message,
            host: remote.name,
            cause: refusal,
          }),
      );
      remote.abandon(failure);
      throw failure;
    },
  );
}

/**
 * A failure to open a session channel as the host reports it: a refused
 * session (`SessionRefusedError`, which has no code) becomes `coded(error)`;
 * anything else (a lost connection, the caller's stop) passes through.
 */
export function sessionFailure(
  error: unknown,
  coded: (refusal: SessionRefusedError) => Error,
): unknown {
  return error instanceof SessionRefusedError ? coded(error) : error;
}
