import { delay } from "@qemu-kvm/core";
import type { ProcessInfo, ProcessState } from "../host.js";

export interface ProcStat {
  pid: number;
  /** The command name in parentheses (may hold spaces and parentheses). */
  comm: string;
  state: string;
  ppid: number;
  /** Field 22: clock ticks after boot. */
  startTime: bigint;
}

/**
 * Parses /proc/PID/stat. The command name (field 2) is in parentheses and may
 * itself contain `)` and spaces, so the fields are read after the LAST `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const fields = text
    .slice(close + 2)
    .trim()
    .split(" ");
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const state = fields[0];
  const ppid = fields[1];
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || startTime === undefined) return undefined;
  if (!/^\d+$/.test(startTime)) return undefined;
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state,
    ppid: Number(ppid),
    startTime: BigInt(startTime),
  };
}

/** Parses /proc/PID/cmdline: NUL-terminated arguments (none for kernel threads and zombies). */
export function parseCmdline(bytes: Buffer): string[] {
  if (bytes.length === 0) return [];
  const text = bytes.toString("utf8");
  const parts = text.split("\0");
  // A well-behaved process ends with a NUL; one that rewrote its argv may not.
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

/**
 * Reads one process's facts with `read(path)` (local fs or SFTP): stat, cmdline,
 * then stat again; if the start time changed in between, the pid was reused while
 * reading, so it reads again. `undefined` if there is no such process.
 */
export async function readProcessInfo(
  pid: number,
  read: (path: string) => Promise<Buffer | undefined>,
): Promise<ProcessInfo | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await read(`/proc/${pid}/stat`);
    if (before === undefined) return undefined;
    const stat = parseProcStat(before.toString("utf8"));
    if (!stat) return undefined;
    const cmdline = await read(`/proc/${pid}/cmdline`);
    const after = await read(`/proc/${pid}/stat`);
    if (cmdline === undefined || after === undefined) return undefined;
    const again = parseProcStat(after.toString("utf8"));
    if (!again) return undefined;
    if (again.startTime !== stat.startTime) continue;
    return {
      pid,
      ppid: again.ppid,
      state: processState(again.state),
      cmdline: parseCmdline(cmdline),
      startTime: again.startTime,
    };
  }
  return undefined;
}

const STATES: Readonly<Record<string, ProcessState>> = {
  R: "running",
  S: "sleeping",
  D: "disk-sleep",
  T: "stopped",
  t: "tracing-stop",
  Z: "zombie",
  X: "dead",
  x: "dead",
  I: "idle",
  P: "parked",
  W: "waking",
  K: "wakekill",
};

/** The state a letter of /proc/PID/stat stands for. */
export function processState(letter: string): ProcessState {
  return STATES[letter] ?? "unknown";
}

/** Whether a state letter of /proc/PID/stat is that of a process that has exited (zombie or dead). */
export function hasExited(letter: string): boolean {
  return letter === "Z" || letter === "X" || letter === "x";
}

/** Alive: exists and is neither a zombie nor dead, with the expected start time if given. */
export function isLiveProcess(info: ProcessInfo | undefined, startTime?: bigint): boolean {
  if (!info || info.state === "zombie" || info.state === "dead") return false;
  return startTime === undefined || info.startTime === startTime;
}

/** Whether /proc/PID/stat (`undefined`: no such file) shows the process, with `startTime` if given, still running. */
export function stillRunning(stat: Buffer | undefined, startTime: bigint | undefined): boolean {
  const parsed = stat && parseProcStat(stat.toString("utf8"));
  if (!parsed || hasExited(parsed.state)) return false;
  return startTime === undefined || parsed.startTime === startTime;
}

/** The first wait between two checks of `pollUntilExited`, and the longest. */
export const EXIT_POLL_FIRST_MS = 5;
export const EXIT_POLL_MAX_MS = 100;

/**
 * Resolves once `pid` (with `startTime`, if given) is gone or a zombie, reading
 * /proc/PID/stat with `read`: first at once, then after 5 ms, doubling up to
 * 100 ms. Linux tells only a process's parent (SIGCHLD, wait) when it exits, and
 * Node has no use for a pidfd, so for a process that is not our child polling
 * /proc is the only way; the backoff keeps a quick exit quick and a slow one
 * cheap. Rejects with `signal.reason` when `signal` aborts.
 */
export async function pollUntilExited(
  pid: number,
  startTime: bigint | undefined,
  read: (path: string) => Promise<Buffer | undefined>,
  signal: AbortSignal,
): Promise<void> {
  for (let waitMs = EXIT_POLL_FIRST_MS; ; waitMs = Math.min(waitMs * 2, EXIT_POLL_MAX_MS)) {
    if (!stillRunning(await read(`/proc/${pid}/stat`), startTime)) return;
    await delay(waitMs, signal);
  }
}
