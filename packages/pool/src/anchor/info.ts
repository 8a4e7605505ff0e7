import { parseCpuList } from "@qemu-kvm/core";

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
