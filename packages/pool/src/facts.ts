/** Parsers for what the anchor prints: its `info`, and a transaction's facts. */
import { parseProcStat } from "@qemu-kvm/host";
import { parseCpuList } from "./cpu-list.js";

/** One response: its sections in order (tag, header arguments, body) and the final status. */
export interface Response {
  sections: { tag: string; args: string; body: string }[];
  /** `ok`, `ready`, `committed`, `unchanged`, or `error`. */
  status: string;
  /** After the status: for errors, `REASON MESSAGE…`. */
  detail: string;
}

/** Splits one response's text (without its end header) into sections. */
export function parseResponse(text: string, nonce: string, endLine: string): Response {
  const marker = `\x1e${nonce} `;
  const sections: Response["sections"] = [];
  let position = text.indexOf(marker);
  while (position >= 0) {
    const headerEnd = text.indexOf("\n", position);
    const header = text.slice(position + marker.length, headerEnd < 0 ? undefined : headerEnd);
    const next = headerEnd < 0 ? -1 : text.indexOf(marker, headerEnd + 1);
    const body = headerEnd < 0 ? "" : text.slice(headerEnd + 1, next < 0 ? undefined : next);
    const space = header.indexOf(" ");
    sections.push({
      tag: space < 0 ? header : header.slice(0, space),
      args: space < 0 ? "" : header.slice(space + 1),
      body,
    });
    position = next;
  }
  const [status = "", ...rest] = endLine.split(" ");
  return { sections, status, detail: rest.join(" ") };
}

/** What the anchor reports about itself and the host when it starts. */
export interface AnchorInfo {
  pid: number;
  startTime: bigint;
  bootId: string;
  uid: number;
  dir: string;
  /** fsync commits (the directory is not on tmpfs). */
  durable: boolean;
  /** flock supports a bounded wait. */
  lockWait: boolean;
  /** The watchdog runs (heartbeats are checked). */
  watchdog: boolean;
  /** Ports are checked with `ss` (else through /proc/net). */
  ss: boolean;
  online: number[] | undefined;
  isolated: number[];
  nodes: Map<number, number[]>;
}

export function parseInfo(body: string): AnchorInfo | undefined {
  const values = new Map<string, string>();
  const nodes = new Map<number, number[]>();
  for (const line of body.split("\n")) {
    if (line === "") continue;
    const space = line.indexOf(" ");
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? "" : line.slice(space + 1);
    if (key === "node") {
      const [node, list = ""] = value.split(" ");
      const cpus = parseCpuList(list);
      if (cpus && /^\d+$/.test(node ?? "")) nodes.set(Number(node), cpus);
    } else values.set(key, value);
  }
  const pid = Number(values.get("pid"));
  const start = values.get("start") ?? "";
  const dir = values.get("dir");
  if (!Number.isInteger(pid) || pid < 1 || !/^\d+$/.test(start) || !dir) return undefined;
  const online = values.has("online") ? parseCpuList(values.get("online")!) : undefined;
  return {
    pid,
    startTime: BigInt(start),
    bootId: values.get("boot") ?? "-",
    uid: Number(values.get("uid")),
    dir,
    durable: values.get("durable") === "1",
    lockWait: values.get("lockwait") === "1",
    watchdog: values.get("watchdog") === "1",
    ss: values.get("ss") === "1",
    online,
    isolated: parseCpuList(values.get("isolated") ?? "") ?? [],
    nodes,
  };
}

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

/** A PCI device as sysfs (or a description) tells it. */
export interface PciFacts {
  address: string;
  function: "pf" | "vf" | "device";
  /** For a VF. */
  pf?: string;
  vfs: string[];
  numaNode: number | undefined;
}

/**
 * `device ADDRESS PHYSFN TOTALVFS NUMA VFS` and `missing ADDRESS` lines.
 * Missing devices map to `undefined`.
 */
export function parsePciLines(body: string): Map<string, PciFacts | undefined> {
  const devices = new Map<string, PciFacts | undefined>();
  for (const line of body.split("\n")) {
    const fields = line.split(" ");
    if (fields[0] === "missing" && fields[1]) {
      devices.set(fields[1], undefined);
      continue;
    }
    if (fields[0] !== "device" || fields.length < 6) continue;
    const [, address, physfn, totalVfs, numa, vfs] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const node = Number(numa);
    devices.set(address, {
      address,
      function: physfn !== "-" ? "vf" : totalVfs !== "-" ? "pf" : "device",
      ...(physfn !== "-" ? { pf: physfn } : {}),
      vfs: vfs === "-" ? [] : vfs.split(","),
      numaNode: Number.isInteger(node) && node >= 0 ? node : undefined,
    });
  }
  return devices;
}
