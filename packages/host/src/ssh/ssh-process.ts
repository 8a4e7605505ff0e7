import { PassThrough, type Readable, type Writable } from "node:stream";
import { Deadline } from "@qemu-kvm/core";
import { HostSystemError } from "../errors/host-errors.js";
import type { ProcessExit, Signal } from "../host.js";
import { signalName } from "../shared/arguments.js";
import { debug } from "../shared/observe.js";
import { ProcessBase, settlesWithin } from "../shared/process-base.js";
import type { RemoteCommand } from "./remote-command.js";
import { WRAPPER } from "./remote-scripts.js";

/** The start of /proc/PID/cmdline while the wrapper runs (before its `exec "$@"`). */
const WRAPPER_CMDLINE = Buffer.from(`/bin/sh\0-c\0${WRAPPER}\0`);

/**
 * How long `pid` may wait to see the wrapper's `exec` done. The check reads
 * /proc over SFTP; if that cannot be done in time (every session busy while
 * the host learns the server's limit), `pid` resolves without it rather than
 * wait for a session that may never come.
 */
const EXEC_CHECK_MS = 5000;

/**
 * The wrapper reports its pid just before `exec "$@"`: resolves once that exec
 * happened (the pid's cmdline is no longer the wrapper's), so `pid` means "the
 * command runs", as locally. Usually the first read shows it; bounded.
 */
async function execCompleted(
  pid: number,
  remote: RemoteCommand,
  readProcFile: (path: string, signal: AbortSignal) => Promise<Buffer | undefined>,
): Promise<void> {
  const deadline = new Deadline(`spawn: exec of ${pid}`, { timeoutMs: EXEC_CHECK_MS });
  try {
    for (let attempt = 0; !deadline.stopped; attempt++) {
      const cmdline = await deadline
        .race(readProcFile(`/proc/${pid}/cmdline`, deadline.signal))
        .catch(() => undefined);
      if (!cmdline?.subarray(0, WRAPPER_CMDLINE.length).equals(WRAPPER_CMDLINE)) return;
      if (await settlesWithin(remote.exit, Math.min(attempt, 20))) return;
    }
    debug("ssh %s: no sign of the exec of %d: resolving its pid anyway", remote.name, pid);
  } finally {
    deadline.dispose();
  }
}

/** A process started by `connectSshHost().spawn()`. */
export class SshProcess extends ProcessBase {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly pid: Promise<number>;
  readonly exited: Promise<ProcessExit>;
  readonly #remote: Promise<RemoteCommand>;

  protected readonly forceKillAfterMs: number;

  /**
   * `start` opens the command's session (giving up its place in line when
   * `signal` aborts); `readProcFile` reads /proc on the host.
   */
  constructor(
    readonly argv: readonly string[],
    start: (signal: AbortSignal) => Promise<RemoteCommand>,
    options: {
      forceKillAfterMs: number;
      readProcFile: (path: string, signal: AbortSignal) => Promise<Buffer | undefined>;
      deadline: Deadline;
      host: string;
    },
  ) {
    super();
    const { readProcFile, deadline } = options;
    this.forceKillAfterMs = options.forceKillAfterMs;
    const started = performance.now();
    // The streams exist at once; they are joined to the channel when it opens.
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
    stdin.on("error", (error) => debug("ssh: stdin of %s: %s", argv[0], error.message));
    this.#remote = start(deadline.signal);
    const running = this.#remote.then((remote) => {
      stdin.pipe(remote.stdin);
      remote.stdout.pipe(stdout);
      remote.stderr.pipe(stderr);
      return remote;
    });
    running.catch(() => {
      stdin.resume();
      stdout.end();
      stderr.end();
    });
    this.pid = running
      .then(async (remote) => {
        const header = await remote.header;
        const failure = remote.spawnFailure(header);
        if (failure) throw failure;
        await execCompleted(header.pid, remote, readProcFile);
        return header.pid;
      })
      .catch((error: unknown) => {
        throw this.failure ?? error;
      });
    this.exited = this.pid
      .then(async () => {
        const remote = await running;
        const exit = await remote.exit;
        if (this.failure) throw this.failure;
        return { ...exit, durationMs: performance.now() - started };
      })
      .catch((error: unknown) => {
        throw this.failure ?? error;
      });
    this.pid.catch(() => {});
    this.exited.catch(() => {});
    this.watch(deadline, options.host);
  }

  async kill(signal: Signal = "SIGTERM"): Promise<boolean> {
    const name = signalName(signal);
    const remote = await this.#remote.catch(() => undefined);
    if (!remote) return false;
    return remote.signal(name).catch((error: unknown) => {
      if (error instanceof HostSystemError) throw error;
      return false;
    });
  }

  protected killNow(): void {
    const failure = this.failure;
    void this.kill("SIGKILL").finally(() => {
      void this.#remote.then(
        (remote) => remote.abandon(failure),
        () => {},
      );
    });
  }
}
