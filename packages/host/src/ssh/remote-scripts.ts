import { Transform, type TransformCallback } from "node:stream";
import { InvalidArgumentError } from "@qemu-kvm/core";
import type { EnvChanges } from "../host.js";
import { quoteCommand } from "../shared/quote.js";

/**
 * The wrapper every remote command runs under, as
 * `exec /bin/sh -c WRAPPER qemu-kvm CWD ENV_1 … ENV_N -- FILE ARGS…`.
 *
 * It enters the working directory, looks the command up in PATH the way
 * execvp does (in the caller's PATH, if `env` sets one), reads its own start
 * time, applies the environment changes (`NAME=value` exports, `NAME` unsets),
 * prints one header line on stdout, then replaces itself with the command
 * (`exec`), so the command keeps the wrapper's pid. sshd runs every session in a
 * new session (setsid), so that pid is also the process group of the command and
 * of everything it starts: what the supervisor signals.
 *
 * The caller's variables are applied last, by a loop that uses no variable
 * (only the positional parameters, up to the `--` that no variable name can
 * be), and the wrapper reads none of its own variables after it: its state
 * (kept in the positional parameters), its `IFS`, the PATH its tools are found
 * in and its working directory are out of the caller's reach, whatever names
 * `env` holds (`c`, `n`, `IFS`, `PATH`, `CDPATH`…). `ENV` and `BASH_ENV` are
 * read only by shells starting later (the command's, as locally).
 *
 * The header is `\036qemu-kvm:PID:STARTTIME:STATUS\n` (STATUS `ok`, `not-found`,
 * `not-executable` or `bad-cwd`; STARTTIME from /proc, `-` without /proc). Bytes a
 * login shell printed before it (a noisy .bashrc) are dropped. No argument is ever
 * evaluated: they are only expanded quoted (`"$1"`, `"$@"`).
 */
export const WRAPPER = `unset IFS
c=$1 p=$PATH m= f=
shift
for a; do
if [ -n "$m" ]; then f=$a; break; fi
case $a in --) m=1;; PATH=*) p=\${a#PATH=};; PATH) p=;; esac
done
s=ok
if [ -n "$c" ] && ! cd "$c" 2>/dev/null; then s=bad-cwd
else case $f in
*/*) if [ ! -e "$f" ]; then s=not-found; elif [ -d "$f" ] || [ ! -x "$f" ]; then s=not-executable; fi;;
*) s=not-found; set -f; IFS=:
for d in $p; do e=\${d:-.}/$f
if [ -f "$e" ]; then if [ -x "$e" ]; then s=ok; break; fi; s=not-executable; fi
done
unset IFS; set +f;;
esac; fi
t=-
r() { t=\${20}; }
if { read -r l < /proc/$$/stat; } 2>/dev/null; then set -f; r \${l##*) }; set +f; fi
set -- "$t" "$s" "$@"
v() { shift 2; while case $1 in --) false;; esac; do case $1 in *=*) export "$1";; *) unset "$1";; esac; shift; done; }
v "$@"
printf '\\036qemu-kvm:%s:%s:%s\\n' "$$" "$1" "$2"
case $2 in ok) ;; *) exit 127;; esac
shift 2
while case $1 in --) false;; esac; do shift; done
shift
exec "$@"`;

/**
 * The supervisor: one per SSH connection, `exec /bin/sh -c SUPERVISOR
 * qemu-kvm-supervisor`, reading one request per line on stdin (every field is a
 * validated token: a number, a signal name, `-`):
 *
 * - `add PID START`: a command started (its process group is PID).
 * - `del PID`: it ended.
 * - `sig ID SIGNAL PID START GROUP`: send SIGNAL to PID (GROUP 1: its process
 *   group), if PID still has start time START (`-`: any); replies `ID 0` (sent),
 *   `ID 1` (no such process, or, to one process, a zombie) or `ID 2` (refused,
 *   e.g. EPERM).
 *
 * It exists because sshd does not stop a command when its channel closes (no
 * pty), and OpenSSH ignores the SSH "signal" request for root logins (no
 * privilege separation then: "session signalling requires privilege
 * separation"). On EOF (the client closed, or sshd noticed the connection was
 * lost) it stops every group still registered: SIGTERM, up to 10 s, SIGKILL.
 */
export const SUPERVISOR = `set -f
trap '' PIPE HUP INT
if kill -s 0 -- $$ 2>/dev/null; then d=--; else d=; fi
g=
r() { z=$1; t=\${20}; }
same() {
{ read -r l < "/proc/$1/stat"; } 2>/dev/null || return 1
z=; t=; r \${l##*) }
[ "$2" = - ] || [ "$t" = "$2" ]
}
live() { same "$1" "$2" && [ "$z" != Z ]; }
sig() {
if ! same "$3" "$4" || { [ "$5" = 0 ] && [ "$z" = Z ]; }; then x=1
elif { if [ "$5" = 1 ]; then kill -s "$2" $d "-$3"; else kill -s "$2" "$3"; fi; } 2>/dev/null; then x=0
elif same "$3" "$4"; then x=2
else x=1; fi
printf '%s %s\\n' "$1" "$x"
}
while read -r o a b c e f; do
case $o in
add) g="$g $a:$b";;
del) h=; for x in $g; do [ "\${x%%:*}" = "$a" ] || h="$h $x"; done; g=$h;;
sig) sig "$a" "$b" "$c" "$e" "$f";;
esac
done
h=
for x in $g; do if live "\${x%%:*}" "\${x#*:}"; then kill -s TERM $d "-\${x%%:*}" 2>/dev/null; h="$h $x"; fi; done
i=0
while [ -n "$h" ] && [ $i -lt 10 ]; do
sleep 1; i=$((i+1)); n=
for x in $h; do live "\${x%%:*}" "\${x#*:}" && n="$n $x"; done; h=$n
done
for x in $h; do kill -s KILL $d "-\${x%%:*}" 2>/dev/null; done`;

/**
 * `waitForExit` on the host, as `exec /bin/sh -c WAIT_FOR_EXIT qemu-kvm-wait PID
 * START` (START `-`: any): exits 0 once PID (with start time START) is gone or
 * a zombie. Linux tells only a parent when a process exits, so it reads
 * /proc/PID/stat, first at once, then after 5 ms, doubling up to 100 ms (an
 * external `sleep`; a `sleep` without fractions falls back to 1 s). One command
 * for the whole wait: no round trip per check.
 */
export const WAIT_FOR_EXIT = `p=$1 t=$2 d=0.005
r() { z=$1; s=\${20}; }
while { read -r l < "/proc/$p/stat"; } 2>/dev/null; do
set -f; r \${l##*) }; set +f
[ "$t" = - ] || [ "$s" = "$t" ] || exit 0
case $z in Z|X|x) exit 0;; esac
sleep "$d" 2>/dev/null || sleep 1
case $d in 0.005) d=0.01;; 0.01) d=0.02;; 0.02) d=0.04;; 0.04) d=0.08;; *) d=0.1;; esac
done`;

/** The argv that runs `WAIT_FOR_EXIT` for `pid` (and `startTime`). */
export function waitForExitArgv(pid: number, startTime: bigint | undefined): string[] {
  return ["/bin/sh", "-c", WAIT_FOR_EXIT, "qemu-kvm-wait", String(pid), String(startTime ?? "-")];
}

/** The supervisor's command string. */
export const SUPERVISOR_COMMAND = quoteCommand([
  "exec",
  "/bin/sh",
  "-c",
  SUPERVISOR,
  "qemu-kvm-supervisor",
]);

/**
 * The most bytes of command line sent: OpenSSH's packets carry at most 256 KiB,
 * and a too-big request would cost the whole connection.
 */
const MAX_COMMAND_BYTES = 200_000;

/** The one command string SSH carries for `argv` (quoted by `quoteCommand`). */
export function remoteCommand(
  argv: readonly string[],
  options: { cwd?: string; env?: EnvChanges } = {},
): string {
  const env = Object.entries(options.env ?? {}).map(([name, value]) =>
    value === undefined ? name : `${name}=${value}`,
  );
  // A relative path: `cd` would read a leading `-` as an option, and look `dir` up in CDPATH.
  const cwd =
    options.cwd === undefined ? "" : options.cwd.startsWith("/") ? options.cwd : `./${options.cwd}`;
  const command = quoteCommand([
    "exec",
    "/bin/sh",
    "-c",
    WRAPPER,
    "qemu-kvm",
    cwd,
    ...env,
    "--",
    ...argv,
  ]);
  const bytes = Buffer.byteLength(command);
  if (bytes > MAX_COMMAND_BYTES)
    throw new InvalidArgumentError(
      "argv",
      `at most ${MAX_COMMAND_BYTES} bytes of command line`,
      argv,
      {
        problem: `is too long for SSH: ${bytes} bytes of command line (at most ${MAX_COMMAND_BYTES}); pass large data as input or a file`,
      },
    );
  return command;
}

export type HeaderStatus = "ok" | "not-found" | "not-executable" | "bad-cwd";

export interface Header {
  pid: number;
  /** `undefined` when the host has no /proc. */
  startTime: bigint | undefined;
  status: HeaderStatus;
}

const MARKER = Buffer.from("\x1eqemu-kvm:");
const HEADER = /^(\d+):(\d+|-):(ok|not-found|not-executable|bad-cwd)$/;
const MAX_PREAMBLE = 64 * 1024;

/**
 * The command's stdout with the wrapper's header taken out: emits `header` once,
 * then passes every later byte through unchanged. What came before the header (a
 * login shell's noise) is dropped, and reported as `preamble`.
 */
export class HeaderStripper extends Transform {
  header: Header | undefined;
  #pending: Buffer = Buffer.alloc(0);
  #dropped = 0;
  #preamble = "";

  /** The start of what came before the header (for error messages). */
  get preamble(): string {
    return this.#preamble;
  }

  #drop(bytes: Buffer): void {
    this.#dropped += bytes.length;
    if (this.#preamble.length < 2000) this.#preamble += bytes.toString("utf8").slice(0, 2000);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.header && this.#pending.length > 0) this.#drop(this.#pending);
    callback();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.header) {
      callback(null, chunk);
      return;
    }
    let buffer = Buffer.concat([this.#pending, chunk]);
    const start = buffer.indexOf(MARKER);
    if (start < 0) {
      // Keep only what could be the start of a marker.
      const keep = Math.min(buffer.length, MARKER.length - 1);
      this.#drop(buffer.subarray(0, buffer.length - keep));
      this.#pending = buffer.subarray(buffer.length - keep);
      if (this.#dropped > MAX_PREAMBLE) {
        callback(new Error(`no command header after ${this.#dropped} bytes of output`));
        return;
      }
      callback();
      return;
    }
    if (start > 0) {
      this.#drop(buffer.subarray(0, start));
      buffer = buffer.subarray(start);
    }
    const end = buffer.indexOf(0x0a);
    if (end < 0) {
      this.#pending = buffer;
      callback();
      return;
    }
    const match = HEADER.exec(buffer.subarray(MARKER.length, end).toString("latin1"));
    if (!match) {
      callback(
        new Error(`malformed command header ${JSON.stringify(buffer.subarray(0, end).toString())}`),
      );
      return;
    }
    this.header = {
      pid: Number(match[1]),
      startTime: match[2] === "-" ? undefined : BigInt(match[2]!),
      status: match[3] as HeaderStatus,
    };
    this.#pending = Buffer.alloc(0);
    if (this.#dropped > 0) this.emit("preamble", this.#dropped);
    this.emit("header", this.header);
    const rest = buffer.subarray(end + 1);
    callback(null, rest.length > 0 ? rest : undefined);
  }
}
