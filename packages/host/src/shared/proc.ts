import type { ProcessInfo } from "../host.js";

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
      state: again.state,
      cmdline: parseCmdline(cmdline),
      startTime: again.startTime,
    };
  }
  return undefined;
}

/** Alive: exists and is neither a zombie nor dead, with the expected start time if given. */
export function isLiveProcess(info: ProcessInfo | undefined, startTime?: bigint): boolean {
  if (!info || info.state === "Z" || info.state === "X" || info.state === "x") return false;
  return startTime === undefined || info.startTime === startTime;
}
