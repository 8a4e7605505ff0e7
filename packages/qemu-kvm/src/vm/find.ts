/**
 * Finding VMs on a host: those this library started (by their records, in any
 * process), and other QEMUs (by their command lines, which `parseArgs` reads).
 */
import { parseArgs, type VmFacts } from "@qemu-kvm/bootline";
import { type CallOptions, checkCallOptions, withDeadline } from "@qemu-kvm/core";
import type { Host } from "@qemu-kvm/host";
import { defaultRuntimeBase, vmDir, vmsDir } from "../runtime/layout.js";
import type { VmRecord } from "../runtime/record.js";
import { readRecord, recordAlive } from "../runtime/runtime-dir.js";

/** A VM on a host, as `listVms` finds it. */
export interface VmListing {
  readonly name: string;
  /** `managed`: started by this library (it has a record); `foreign`: another QEMU found by its command line. */
  readonly kind: "managed" | "foreign";
  readonly pid: number;
  /** Seconds since QEMU started. */
  readonly uptimeSeconds: number | undefined;
  /** Its command line, program first (from its record, or `/proc/PID/cmdline`). */
  readonly argv: readonly string[];
  /** What its command line says: sockets, listeners (ports), CPUs, drives… */
  readonly facts: VmFacts;
  /** For a managed VM: its record. */
  readonly record?: VmRecord;
}

export interface ListVmsOptions extends CallOptions {
  /** The per-host base of runtime directories. Default: as `createVm` chooses it. */
  runtimeBase?: string;
  /** Also list QEMUs this library did not start. Default true. */
  foreign?: boolean;
}

async function clockTicks(
  host: Host,
  options: CallOptions,
): Promise<{ ticks: number; uptime: number }> {
  const [ticks, uptime] = await Promise.all([
    host.exec("getconf", ["CLK_TCK"], options).then((r) => Number(r.stdout.trim()) || 100),
    host
      .readFile("/proc/uptime", { ...options, encoding: "utf8" })
      .then((text) => Number(text.split(" ")[0])),
  ]);
  return { ticks, uptime };
}

async function managed(host: Host, base: string, options: CallOptions): Promise<VmRecord[]> {
  const dir = vmsDir(base);
  const entries = await host.readDir(dir, options).catch((error: unknown) => {
    if ((error as { systemCode?: string }).systemCode === "ENOENT") return [];
    throw error;
  });
  const records: VmRecord[] = [];
  for (const entry of entries) {
    if (entry.type !== "directory") continue;
    const record = await readRecord(host, vmDir(base, entry.name), options).catch(() => undefined);
    if (record && record.name === entry.name && (await recordAlive(host, record, options)))
      records.push(record);
  }
  return records;
}

/** The pids of processes whose name starts with `qemu-system`. */
async function qemuPids(host: Host, options: CallOptions): Promise<number[]> {
  const { stdout } = await host.exec("ps", ["-eo", "pid=,comm="], {
    ...options,
    maxBuffer: 16 << 20,
  });
  const pids: number[] = [];
  for (const line of stdout.split("\n")) {
    const match = /^\s*(\d+)\s+(qemu-system\S*|qemu-kvm)\s*$/.exec(line);
    if (match) pids.push(Number(match[1]));
  }
  return pids;
}

/** Every VM running on `host`, by name; managed ones first. */
export function listVms(host: Host, options?: ListVmsOptions): Promise<VmListing[]> {
  const checked = checkCallOptions(options, ["runtimeBase", "foreign"]);
  return withDeadline("listVms", checked, { defaultTimeoutMs: 60_000 }, async (signal) => {
    const call = { signal };
    const base = checked.runtimeBase ?? (await defaultRuntimeBase(host, call));
    const clock = await clockTicks(host, call);
    const uptimeOf = async (pid: number, startTime?: bigint) => {
      const start = startTime ?? (await host.processInfo(pid, call))?.startTime;
      return start === undefined
        ? undefined
        : Math.max(0, clock.uptime - Number(start) / clock.ticks);
    };
    const listings: VmListing[] = [];
    for (const record of await managed(host, base, call))
      listings.push({
        name: record.name,
        kind: "managed",
        pid: record.pid,
        uptimeSeconds: await uptimeOf(record.pid, BigInt(record.startTime)),
        argv: record.argv,
        facts: parseArgs(record.argv),
        record,
      });
    if (checked.foreign !== false) {
      const known = new Set(listings.map((listing) => listing.pid));
      for (const pid of await qemuPids(host, call)) {
        if (known.has(pid)) continue;
        const info = await host.processInfo(pid, call).catch(() => undefined);
        if (!info || info.cmdline.length === 0) continue;
        const facts = parseArgs(info.cmdline);
        listings.push({
          name: facts.name ?? `pid-${pid}`,
          kind: "foreign",
          pid,
          uptimeSeconds: await uptimeOf(pid, info.startTime),
          argv: info.cmdline,
          facts,
        });
      }
    }
    return listings;
  });
}

/** The running VMs whose command line uses `path` (a disk, pflash, kernel or initrd): is this image in use? */
export async function vmsUsingPath(
  host: Host,
  path: string,
  options?: ListVmsOptions,
): Promise<VmListing[]> {
  const listings = await listVms(host, options);
  return listings.filter(({ facts }) => {
    const used = facts as VmFacts & {
      drives?: readonly { path: string }[];
      pflash?: readonly { path: string }[];
      kernel?: string;
      initrd?: string;
    };
    return (
      used.drives?.some((drive) => drive.path === path) ||
      used.pflash?.some((image) => image.path === path) ||
      used.kernel === path ||
      used.initrd === path
    );
  });
}
