/** Parsers for the facts the anchor prints under the lock: processes, sockets, PCI devices. */
import { parseProcStat } from "@qemu-kvm/host";

/** A process as /proc/PID/stat describes it; `undefined` when there is no such process. */
export interface ProcStat {
  state: string;
  startTime: string;
}

/**
 * `PID STATLINE` or `PID -` lines. A pid whose line cannot be parsed (a comm
 * with a newline) is left out: unknown, so treated as alive.
 */
export function parseProcLines(body: string): Map<number, ProcStat | undefined> {
  const procs = new Map<number, ProcStat | undefined>();
  for (const line of body.split("\n")) {
    const match = /^(\d+) (.*)$/.exec(line);
    if (!match) continue;
    const pid = Number(match[1]);
    const stat = match[2]!;
    if (stat === "-") {
      procs.set(pid, undefined);
      continue;
    }
    const parsed = parseProcStat(stat);
    if (!parsed) continue;
    procs.set(pid, { state: parsed.state, startTime: String(parsed.startTime) });
  }
  return procs;
}

/**
 * Ports bound on the host: `PROTO PORT STATE` lines from /proc/net. A TCP socket
 * in TIME_WAIT (06) does not count: QEMU's listeners bind with SO_REUSEADDR, so
 * it does not stop them. Any other TCP socket and every UDP socket does.
 */
export function parseNetLines(body: string): Map<number, string[]> {
  const busy = new Map<number, string[]>();
  for (const line of body.split("\n")) {
    const [proto, portText, state] = line.split(" ");
    if (!proto || !portText || !state) continue;
    const port = Number(portText);
    if (!Number.isInteger(port)) continue;
    if (proto.startsWith("tcp") && state === "06") continue;
    const list = busy.get(port) ?? [];
    if (!list.includes(proto)) list.push(proto);
    busy.set(port, list);
  }
  return busy;
}

/**
 * Ports bound on the host from `ss -tuan` lines (`tcp LISTEN 0 128 127.0.0.1:6000
 * 0.0.0.0:*`), with the same rule as `parseNetLines`: TIME-WAIT does not count.
 */
export function parseSsLines(body: string): Map<number, string[]> {
  const busy = new Map<number, string[]>();
  for (const line of body.split("\n")) {
    const [netid, state, , , local] = line.trim().split(/\s+/);
    if ((netid !== "tcp" && netid !== "udp") || !state || !local) continue;
    const port = Number(local.slice(local.lastIndexOf(":") + 1));
    if (!Number.isInteger(port) || port < 1) continue;
    if (netid === "tcp" && state === "TIME-WAIT") continue;
    const proto = `${netid}${local.startsWith("[") ? "6" : ""}`;
    const list = busy.get(port) ?? [];
    if (!list.includes(proto)) list.push(proto);
    busy.set(port, list);
  }
  return busy;
}

/** A PCI device as sysfs (or a description) tells it: what the PF/VF rule needs. */
export interface PciFacts {
  address: string;
  function: "pf" | "vf" | "device";
  /** For a VF: its PF. */
  pf?: string;
}

/**
 * `device ADDRESS PHYSFN TOTALVFS` and `missing ADDRESS` lines: a device with
 * a `physfn` is a VF, one with `sriov_totalvfs` a PF. Missing devices map to
 * `undefined`.
 */
export function parsePciLines(body: string): Map<string, PciFacts | undefined> {
  const devices = new Map<string, PciFacts | undefined>();
  for (const line of body.split("\n")) {
    const [tag, address, physfn, totalVfs] = line.split(" ");
    if (tag === "missing" && address) devices.set(address, undefined);
    if (tag !== "device" || !address || !physfn || !totalVfs) continue;
    if (physfn !== "-") devices.set(address, { address, function: "vf", pf: physfn });
    else devices.set(address, { address, function: totalVfs === "-" ? "device" : "pf" });
  }
  return devices;
}
