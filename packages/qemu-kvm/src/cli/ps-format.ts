/** `qemu-kvm ps`'s rows, as JSON (stable field names) and as a table for people. */
import type { ListenerKind } from "@qemu-kvm/bootline";
import { formatCpuList } from "@qemu-kvm/core";
import type { VmListing } from "../vm/find.js";

/** A host port the VM listens on. */
export interface PsPort {
  readonly kind: ListenerKind;
  readonly protocol: "tcp" | "udp";
  readonly host: string;
  readonly port: number;
  /** For a forwarded port (`kind: "forward"`): the guest's port. */
  readonly guestPort?: number;
}

/** One VM, as `ps --json` prints it. */
export interface PsRow {
  readonly name: string;
  /** `managed` (started by this library) or `foreign` (another QEMU, with `--all`). */
  readonly kind: "managed" | "foreign";
  /** QEMU's run state from QMP (`running`, `paused`, `inmigrate`…); null when it could not be asked. */
  readonly state: string | null;
  readonly pid: number;
  readonly uptimeSeconds: number | null;
  /** vCPUs (`-smp`). */
  readonly cpus: number;
  /** Host CPUs QEMU is pinned to (empty: not pinned). */
  readonly hostCpus: readonly number[];
  readonly ports: readonly PsPort[];
  /** Where to reach the guest's SSH server, or null. */
  readonly ssh: { readonly host: string; readonly port: number } | null;
  /** How the library controls the guest (managed VMs), or null. */
  readonly control: string | null;
  readonly runtimeDir: string | null;
}

/** The vCPU count of a command line: `-smp N` or `-smp cpus=N,…` (the last `-smp` wins); QEMU's default is 1. */
export function vcpuCount(argv: readonly string[]): number {
  let count = 1;
  for (let index = 0; index < argv.length - 1; index++) {
    if (argv[index] !== "-smp") continue;
    const value = argv[index + 1]!;
    const match = /^(\d+)(?:,|$)/.exec(value) ?? /(?:^|,)cpus=(\d+)(?:,|$)/.exec(value);
    if (match) count = Number(match[1]);
  }
  return count;
}

/** A listing as a row; `state` is asked of QMP by the caller. */
export function rowOf(listing: VmListing, state: string | null): PsRow {
  const { facts, record } = listing;
  const ports = facts.listeners.map((listener): PsPort => {
    const forward =
      listener.kind === "forward"
        ? facts.hostForwards.find(
            (candidate) =>
              candidate.hostPort === listener.port && candidate.protocol === listener.protocol,
          )
        : undefined;
    return {
      kind: listener.kind,
      protocol: listener.protocol,
      host: listener.host,
      port: listener.port,
      ...(forward ? { guestPort: forward.guestPort } : {}),
    };
  });
  return {
    name: listing.name,
    kind: listing.kind,
    state,
    pid: listing.pid,
    uptimeSeconds:
      listing.uptimeSeconds === undefined ? null : Math.round(listing.uptimeSeconds * 10) / 10,
    cpus: vcpuCount(listing.argv),
    hostCpus: facts.hostCpus ?? [],
    ports,
    ssh: record?.ssh ?? null,
    control: record?.control ?? null,
    runtimeDir: record?.runtimeDir ?? null,
  };
}

/** `45s`, `12m03s`, `3h04m`, `2d03h`. */
export function formatUptime(seconds: number | null): string {
  if (seconds === null) return "-";
  const s = Math.floor(seconds);
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}

const SHORT_KIND: Record<string, string> = { display: "vnc", "guest-agent": "qga" };

/** `127.0.0.1:6001→22`, `serial 127.0.0.1:7000`, `vnc 127.0.0.1:5901`. */
export function formatPort(port: PsPort): string {
  const address = `${port.host.includes(":") ? `[${port.host}]` : port.host}:${port.port}`;
  const udp = port.protocol === "udp" ? "/udp" : "";
  if (port.kind === "forward") return `${address}→${port.guestPort ?? "?"}${udp}`;
  return `${SHORT_KIND[port.kind] ?? port.kind} ${address}${udp}`;
}

function cpusOf(row: PsRow): string {
  return row.hostCpus.length
    ? `${row.cpus} (host ${formatCpuList(row.hostCpus)})`
    : String(row.cpus);
}

/** The rows as an aligned table, one VM a line, with a header. */
export function formatTable(rows: readonly PsRow[]): string {
  const header = ["NAME", "STATE", "PID", "CPUS", "UPTIME", "PORTS"];
  const cells = rows.map((row) => [
    row.kind === "foreign" ? `${row.name} (foreign)` : row.name,
    row.state ?? "-",
    String(row.pid),
    cpusOf(row),
    formatUptime(row.uptimeSeconds),
    row.ports.map(formatPort).join(", ") || "-",
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]!.length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, column) =>
        column === values.length - 1 ? value : value.padEnd(widths[column]!),
      )
      .join("  ");
  return `${[line(header), ...cells.map(line)].join("\n")}\n`;
}
