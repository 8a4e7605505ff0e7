import type { Duplex, Readable, Writable } from "node:stream";
import type { CallOptions } from "@qemu-kvm/core";

/** A signal by name (`"SIGTERM"`) or by Linux number (`15`). */
export type Signal = NodeJS.Signals | number;

/** Environment changes: a string sets the variable, `undefined` removes it. */
export type EnvChanges = Readonly<Record<string, string | undefined>>;

/**
 * `exec` options. Like every call of a host it takes core's `CallOptions`:
 * `signal` (aborting rejects with `ERR_ABORTED` after stopping the command) and
 * `timeoutMs` (default: none; `0` = already expired, nothing runs; `Infinity` =
 * none; any length is honoured). An unknown key is `ERR_INVALID_ARGUMENT`.
 */
export interface ExecOptions extends CallOptions {
  /** Written to the command's stdin, which is then closed. Default: stdin is empty (EOF at once). */
  input?: string | Uint8Array;
  /**
   * Added to (or, with `undefined`, removed from) the environment the command
   * inherits: this process's locally, the login environment over SSH. Names must
   * be shell identifiers (`[A-Za-z_][A-Za-z0-9_]*`).
   */
  env?: EnvChanges;
  /** Working directory. Default: this process's locally, the login directory over SSH. */
  cwd?: string;
  /** Reject with `ERR_HOST_EXIT` when the command exits non-zero or dies of a signal. Default true. */
  reject?: boolean;
  /** `"utf8"` (default): stdout and stderr are strings; `"buffer"`: `Buffer`s, byte-exact. */
  encoding?: "utf8" | "buffer";
  /** Most bytes kept from stdout, and from stderr; beyond, the command is stopped and `ERR_HOST_MAX_BUFFER` rejects. Default 100 MiB. */
  maxBuffer?: number;
  /** After a timeout or abort, SIGTERM; then SIGKILL if still running after this delay (`Infinity`: never). Default 5000 ms. */
  forceKillAfterMs?: number;
}

export interface ExecResult<Output extends string | Buffer = string> {
  /** `[file, ...args]` as given. */
  argv: readonly string[];
  /** Everything the command wrote, unchanged (no trailing newline is stripped). */
  stdout: Output;
  stderr: Output;
  /** `null` when a signal ended the command. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** From the call to the end of the command's output. */
  durationMs: number;
}

/**
 * `spawn` options. `signal` and `timeoutMs` bound the process's life: when
 * either fires, the process is stopped (as by `stop()`) and `exited` rejects
 * with `ERR_ABORTED` or `ERR_TIMEOUT`. An already-aborted signal or
 * `timeoutMs: 0` starts nothing.
 */
export interface SpawnOptions extends CallOptions {
  env?: EnvChanges;
  cwd?: string;
  /** For `stop()`, timeouts and aborts: SIGTERM, then SIGKILL after this delay (`Infinity`: never). Default 5000 ms. */
  forceKillAfterMs?: number;
}

export interface ProcessExit {
  /** `null` when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** From `spawn()` to the exit. */
  durationMs: number;
}

/**
 * A long-running process started by `spawn()`. It lives no longer than its host:
 * `close()`/`destroy()` stop it, and so does a lost SSH connection (the remote side
 * stops it when it notices). Consume `stdout` and `stderr` (or `resume()` them): a
 * process blocks when its output is not read, as with any pipe.
 */
export interface HostProcess extends AsyncDisposable {
  readonly argv: readonly string[];
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The process id on the host once it runs; rejects like `exited` if it could not start. */
  readonly pid: Promise<number>;
  /**
   * Settles when the process has exited: resolves with any exit code or signal;
   * rejects with `ERR_HOST_SPAWN` (could not start), `ERR_ABORTED` (its signal was
   * aborted), `ERR_TIMEOUT` (its `timeoutMs` passed), `ERR_HOST_CONNECTION_LOST`
   * or `ERR_HOST_CLOSED`.
   * Its last output may still be on its way then (a process can exit before its
   * pipe is drained, and a child it left behind can hold the pipe open): to read
   * everything, also wait for the `end` of `stdout` and `stderr`.
   */
  readonly exited: Promise<ProcessExit>;
  /**
   * Sends `signal` (default SIGTERM) to the process and the processes it started
   * (over SSH its process group, locally its descendants), as a terminal would.
   * Resolves `false` if it had already exited.
   */
  kill(signal?: Signal): Promise<boolean>;
  /** SIGTERM, then SIGKILL after `forceKillAfterMs`; resolves with the exit. Also `await using`. */
  stop(): Promise<ProcessExit>;
}

export interface ReadFileOptions extends CallOptions {
  /** `"buffer"` (default) resolves a `Buffer`; `"utf8"` a string. */
  encoding?: "buffer" | "utf8";
  /**
   * The most bytes read: a larger file (by the size it claims, or by reading
   * past it, as with `/dev/zero` or a file that grows) rejects with
   * `ERR_HOST_FILE_TOO_LARGE`, and no more than that is ever held in memory.
   * Default 64 MiB.
   */
  maxBytes?: number;
}

export interface WriteFileOptions extends CallOptions {
  /**
   * The file's permission bits, applied exactly (not masked by the umask) even
   * when the file existed, before any data is written. Default: a new file gets
   * 0o666 minus the umask, an existing file keeps its mode.
   */
  mode?: number;
}

export interface RemoveOptions extends CallOptions {
  /** Remove a directory with everything in it. Default false: a directory must be empty. */
  recursive?: boolean;
}

export interface PrivateDirOptions extends CallOptions {
  /** The start of the directory's name. Default `"qk-"` (keep it short: unix socket paths have 107 bytes). */
  prefix?: string;
  /** Where to create it. Default: `os.tmpdir()` locally, `/tmp` over SSH. */
  parent?: string;
}

export interface MakeDirOptions extends CallOptions {
  /** The permission bits of the directory (and of each parent it creates), applied exactly, not masked by the umask. Default 0o700. */
  mode?: number;
  /**
   * Also create the missing parents (each with `mode`), and accept a directory
   * that already exists if it is owned by this user and has exactly `mode`.
   * Default false: the directory must not exist.
   */
  parents?: boolean;
}

export interface ReadDirOptions extends CallOptions {
  /** Most entries read; a directory with more rejects with `ERR_HOST_TOO_MANY_ENTRIES`. Default 100 000. */
  maxEntries?: number;
}

/** What a path is (`"other"`: a FIFO or a device). */
export type FileType = "file" | "directory" | "symlink" | "socket" | "other";

export interface DirEntry {
  /** The entry's name in its directory (no `/`). */
  name: string;
  /** As `lstat` tells it: a symlink is a `"symlink"`, whatever it points to. */
  type: FileType;
}

/** What `stat` tells of a path, with `lstat` semantics: a symlink is described, not followed. */
export interface FileStat {
  type: FileType;
  /** The permission bits (0 to 0o7777), without the file type. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes (a symlink: the length of its target). */
  size: number;
  /** Last modification, in ms since the epoch (over SFTP, whole seconds). */
  mtimeMs: number;
}

export interface PutFileOptions extends CallOptions {
  /**
   * The file's permission bits, applied exactly (not masked by the umask)
   * before any data is written. Default: 0o666 minus the umask.
   */
  mode?: number;
}

export interface PutFileResult {
  /** Bytes copied. */
  bytes: number;
  /** From the call to the file being in place. */
  durationMs: number;
}

export interface ProcessOptions extends CallOptions {
  /**
   * The start time the process must have (from `processInfo`): a different
   * process that reuses the pid is then not touched (it counts as not alive).
   */
  startTime?: bigint;
}

/**
 * A process's state, from the letter in /proc/PID/stat: `R` running, `S`
 * sleeping, `D` disk-sleep (uninterruptible), `T` stopped, `t` tracing-stop,
 * `Z` zombie (exited, not yet reaped by its parent), `X` dead, `I` idle (a
 * kernel thread), `P` parked, `W` waking, `K` wakekill; `unknown` for any other.
 */
export type ProcessState =
  | "running"
  | "sleeping"
  | "disk-sleep"
  | "stopped"
  | "tracing-stop"
  | "zombie"
  | "dead"
  | "idle"
  | "parked"
  | "waking"
  | "wakekill"
  | "unknown";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** From /proc/PID/stat. A `"zombie"` has exited: `isAlive` is false for it. */
  state: ProcessState;
  /** argv from /proc/PID/cmdline; empty for kernel threads and zombies. */
  cmdline: string[];
  /** Field 22 of /proc/PID/stat: clock ticks after boot. With the pid, it names one process. */
  startTime: bigint;
}

/**
 * A machine that runs commands, holds files and listens on sockets: this one
 * (`createLocalHost()`) or a remote one (`connectSshHost()`). Both behave the same, tested by one
 * conformance suite; argv is never parsed by a shell locally, and over SSH it is
 * quoted by one audited function.
 */
export interface Host extends AsyncDisposable {
  /** `"local"`, or `"user@host:port"` for SSH. Used in error messages. */
  readonly name: string;
  readonly transport: "local" | "ssh";

  /**
   * Runs `file` with `args` and collects its output. Rejects with `ERR_HOST_EXIT`
   * on a non-zero exit (unless `reject: false`), `ERR_HOST_SPAWN` if it cannot
   * start, `ERR_TIMEOUT`/`ERR_ABORTED` (after stopping it and what it started),
   * `ERR_HOST_MAX_BUFFER`. Throws `ERR_INVALID_ARGUMENT` synchronously for
   * arguments no process can receive (NUL bytes) and invalid options.
   */
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

  /** Starts a long-running process with streaming stdin, stdout and stderr. */
  spawn(file: string, args?: readonly string[], options?: SpawnOptions): HostProcess;

  readFile(path: string, options?: ReadFileOptions & { encoding?: "buffer" }): Promise<Buffer>;
  readFile(path: string, options: ReadFileOptions & { encoding: "utf8" }): Promise<string>;
  readFile(path: string, options?: ReadFileOptions): Promise<Buffer | string>;
  /** Creates or truncates `path` and writes `data` (not atomic: readers may see it partly written). */
  writeFile(path: string, data: string | Uint8Array, options?: WriteFileOptions): Promise<void>;
  /** Removes a file, symlink or empty directory (any directory with `recursive`). A missing path is fine. */
  remove(path: string, options?: RemoveOptions): Promise<void>;
  /** Creates a new directory only this user can enter (0700) with a unique name; resolves its path. */
  makePrivateDir(options?: PrivateDirOptions): Promise<string>;
  /** Whether `path` exists (symlinks followed). Rejects on errors other than "no such file". */
  exists(path: string, options?: CallOptions): Promise<boolean>;
  /**
   * Creates the directory `path` with exactly `mode` (default 0o700). It must
   * not exist (`ERR_HOST_SYSTEM` `EEXIST`), unless `parents` is set and it is
   * a directory owned by this user with exactly `mode`. A symlink at `path` is
   * never followed: `ELOOP`.
   */
  makeDir(path: string, options?: MakeDirOptions): Promise<void>;
  /**
   * The entries of a directory (without `.` and `..`), sorted by name, with their
   * types. More than `maxEntries` rejects with `ERR_HOST_TOO_MANY_ENTRIES`.
   */
  readDir(path: string, options?: ReadDirOptions): Promise<DirEntry[]>;
  /**
   * What `path` is, with `lstat` semantics (a symlink is described, not
   * followed); `undefined` if there is no such path (or a component of it is
   * not a directory).
   */
  stat(path: string, options?: CallOptions): Promise<FileStat | undefined>;
  /** Renames `from` to `to` atomically (one file system), replacing a file at `to`. */
  rename(from: string, to: string, options?: CallOptions): Promise<void>;
  /**
   * Copies the local file `localPath` to `remotePath` on the host, streaming
   * (memory stays bounded whatever the size). The data goes to a new file
   * created exclusively beside the target, which is renamed over `remotePath`
   * once complete, so a reader never sees half a file. A failed or stopped copy
   * removes its temporary file before it rejects.
   */
  putFile(localPath: string, remotePath: string, options?: PutFileOptions): Promise<PutFileResult>;

  /** A connected stream to a unix socket on the host (over SSH: stream-local forwarding). */
  connectUnix(path: string, options?: CallOptions): Promise<Duplex>;
  /**
   * A connected stream to `host:port` as seen from the host (over SSH: TCP
   * forwarding), e.g. `connectTcp("127.0.0.1", 4444)`.
   */
  connectTcp(host: string, port: number, options?: CallOptions): Promise<Duplex>;

  /** Facts about a process from /proc, or `undefined` if there is no such process. */
  processInfo(pid: number, options?: CallOptions): Promise<ProcessInfo | undefined>;
  /** Whether the process exists and is not a zombie (and has `startTime`, if given). */
  isAlive(pid: number, options?: ProcessOptions): Promise<boolean>;
  /**
   * Sends `signal` (default SIGTERM) to one process. Resolves `false` if there is
   * no such process (or not one with `startTime`, or a zombie); rejects with `ERR_HOST_SYSTEM`
   * (`EPERM`) if not allowed. `pid` must be a positive integer.
   */
  kill(pid: number, signal?: Signal, options?: ProcessOptions): Promise<boolean>;
  /**
   * Resolves once the process (with `startTime`, if given) is gone or a zombie:
   * for a process that is not a child of this one, such as a daemonized QEMU.
   * Linux tells only a parent when a process exits, so this checks
   * /proc/PID/stat, first after 5 ms and then less often (up to every 100 ms);
   * over SSH the checks run on the host, in one command. Give it a deadline.
   */
  waitForExit(pid: number, options?: ProcessOptions): Promise<void>;
  /** `uname -m` of the host (`x86_64`, `aarch64`…), asked once per connection. */
  architecture(options?: CallOptions): Promise<string>;

  /**
   * Graceful: new calls reject with `ERR_HOST_CLOSED`; calls in flight finish;
   * then spawned processes are stopped (SIGTERM, then SIGKILL) and forwarded
   * streams ended, and the SSH connection closes.
   */
  close(): Promise<void>;
  /**
   * Abrupt: calls in flight reject with `ERR_HOST_CLOSED` (its `cause` is `reason`),
   * spawned processes get SIGKILL, streams are destroyed, the connection is dropped.
   */
  destroy(reason?: unknown): void;
}
