/** Validation of arguments and options (synchronous: programmer errors throw at once). */

import type { CpuAsk, PortAsk } from "./allocate.js";
import { parseCpuList } from "./cpu-list.js";
import { PoolArgumentError } from "./errors.js";
import type { PciFacts } from "./facts.js";
import { normalizePciAddress } from "./pci-address.js";
import { KIND_NAME, OWNER_NAME } from "./state.js";
import type {
  CallOptions,
  CpuRequest,
  HeartbeatOptions,
  PciDeviceDescription,
  PoolOptions,
  PortRange,
  PortRequest,
  TopologyDescription,
} from "./types.js";

/** The default port ranges, close to the reference's bases. */
export const DEFAULT_PORT_RANGES: Readonly<Record<string, PortRange>> = Object.freeze({
  forward: Object.freeze({ from: 6000, to: 6999 }),
  serial: Object.freeze({ from: 7000, to: 7999 }),
  migrate: Object.freeze({ from: 8000, to: 8999 }),
  display: Object.freeze({ from: 5900, to: 5999 }),
});

const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;
const DEFAULT_HEARTBEAT_EXPIRY_MS = 30_000;
/** The longest one wait for the lock lasts on the host before the client asks again. */
const MAX_LOCK_WAIT_SECONDS = 10;
const DEFAULT_FILE_MODE = 0o600;

export interface ResolvedOptions {
  stateDir: string | undefined;
  portRanges: Readonly<Record<string, PortRange>>;
  cpus: number[] | undefined;
  topologyCpus: { online: number[]; nodes: Map<number, number[]> } | undefined;
  pci: Map<string, PciFacts> | undefined;
  heartbeatMs: number;
  expirySeconds: number;
  periodSeconds: number;
  lockWaitSeconds: number;
  umask: string;
}

/** Not a type guard: the declared types stay, the value is only checked. */
function isPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw new PoolArgumentError(
      field,
      `must be an integer from ${min} to ${max} (got ${String(value)})`,
    );
  return value;
}

export function checkOwner(owner: unknown): string {
  if (typeof owner !== "string" || !OWNER_NAME.test(owner))
    throw new PoolArgumentError(
      "owner",
      `must be a VM name: 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit (got ${JSON.stringify(owner)})`,
    );
  return owner;
}

export function checkCallOptions(options: CallOptions | undefined): CallOptions {
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw new PoolArgumentError("options", "must be an object");
  const { signal, timeoutMs } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new PoolArgumentError("options.signal", "must be an AbortSignal");
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0)
  )
    throw new PoolArgumentError(
      "options.timeoutMs",
      `must be a number ≥ 0 (got ${String(timeoutMs)})`,
    );
  return options;
}

export function checkPciAddress(address: unknown, field: string): string {
  const normalized = typeof address === "string" ? normalizePciAddress(address) : undefined;
  if (!normalized)
    throw new PoolArgumentError(
      field,
      `must be a PCI address like 0000:81:00.1 (got ${JSON.stringify(address)})`,
    );
  return normalized;
}

export function checkPortAsk(
  request: PortRequest,
  field: string,
  ranges: Readonly<Record<string, PortRange>>,
): PortAsk {
  const ask: { kind: unknown; port?: unknown } =
    typeof request === "string" ? { kind: request } : request;
  if (!isPlainObject(ask))
    throw new PoolArgumentError(field, "must be a port kind or { kind, port }");
  const kind = ask.kind;
  if (typeof kind !== "string" || !Object.hasOwn(ranges, kind))
    throw new PoolArgumentError(
      `${field}${typeof request === "string" ? "" : ".kind"}`,
      `must be one of the pool's port kinds (${Object.keys(ranges).join(", ")}), got ${JSON.stringify(kind)}`,
    );
  if (ask.port === undefined) return { kind };
  return { kind, port: checkInteger(ask.port, `${field}.port`, 1, 65535) };
}

function checkCpuNumbers(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new PoolArgumentError(field, "must be a non-empty list of CPUs");
  const cpus = value.map((cpu, index) => checkInteger(cpu, `${field}[${index}]`, 0, 65535));
  if (new Set(cpus).size !== cpus.length)
    throw new PoolArgumentError(field, "must not name a CPU twice");
  return cpus;
}

export function checkCpuAsk(request: CpuRequest, field = "request"): CpuAsk {
  if (typeof request === "number")
    return { count: checkInteger(request, field, 1, 65536), shared: false };
  if (Array.isArray(request)) return { cpus: checkCpuNumbers(request, field), shared: false };
  if (!isPlainObject(request))
    throw new PoolArgumentError(
      field,
      "must be a list of CPUs, a count, or { cpus | count, node?, shared? }",
    );
  const { cpus, count, node, shared } = request as Exclude<CpuRequest, number | readonly number[]>;
  if ((cpus === undefined) === (count === undefined))
    throw new PoolArgumentError(field, "must have either cpus or count");
  if (shared !== undefined && typeof shared !== "boolean")
    throw new PoolArgumentError(`${field}.shared`, "must be a boolean");
  const ask: CpuAsk = { shared: shared === true };
  if (cpus !== undefined) ask.cpus = checkCpuNumbers(cpus, `${field}.cpus`);
  else ask.count = checkInteger(count, `${field}.count`, 1, 65536);
  if (node !== undefined) ask.node = checkInteger(node, `${field}.node`, 0, 65535);
  return ask;
}

function checkRange(value: PortRange, field: string): PortRange {
  if (!isPlainObject(value)) throw new PoolArgumentError(field, "must be { from, to }");
  const from = checkInteger(value.from, `${field}.from`, 1, 65535);
  const to = checkInteger(value.to, `${field}.to`, 1, 65535);
  if (to < from) throw new PoolArgumentError(field, `is empty (${from} > ${to})`);
  return Object.freeze({ from, to });
}

function checkPciDescription(devices: readonly PciDeviceDescription[]): Map<string, PciFacts> {
  if (!Array.isArray(devices))
    throw new PoolArgumentError("options.topology.pci", "must be a list of devices");
  const facts = new Map<string, PciFacts>();
  const add = (entry: PciFacts, field: string) => {
    if (facts.has(entry.address))
      throw new PoolArgumentError(field, `names ${entry.address} twice`);
    facts.set(entry.address, entry);
  };
  devices.forEach((device, index) => {
    const field = `options.topology.pci[${index}]`;
    if (!isPlainObject(device))
      throw new PoolArgumentError(field, "must be { address, vfs?, numaNode? }");
    const address = checkPciAddress(device.address, `${field}.address`);
    const numaNode =
      device.numaNode === undefined
        ? undefined
        : checkInteger(device.numaNode, `${field}.numaNode`, 0, 65535);
    if (device.vfs !== undefined && !Array.isArray(device.vfs))
      throw new PoolArgumentError(`${field}.vfs`, "must be a list");
    const vfs = (device.vfs ?? []).map((vf: string, vfIndex: number) =>
      checkPciAddress(vf, `${field}.vfs[${vfIndex}]`),
    );
    add({ address, function: device.vfs === undefined ? "device" : "pf", vfs, numaNode }, field);
    for (const vf of vfs)
      add({ address: vf, function: "vf", pf: address, vfs: [], numaNode }, `${field}.vfs`);
  });
  return facts;
}

function checkTopology(
  topology: TopologyDescription | undefined,
): Pick<ResolvedOptions, "topologyCpus" | "pci"> {
  if (topology === undefined) return { topologyCpus: undefined, pci: undefined };
  if (!isPlainObject(topology))
    throw new PoolArgumentError("options.topology", "must be an object");
  let topologyCpus: ResolvedOptions["topologyCpus"];
  if (topology.cpus !== undefined) {
    const online = checkCpuNumbers(topology.cpus.online, "options.topology.cpus.online").sort(
      (a, b) => a - b,
    );
    const nodes = new Map<number, number[]>();
    if (topology.cpus.nodes === undefined) nodes.set(0, online);
    else {
      for (const [node, cpus] of Object.entries(topology.cpus.nodes)) {
        const field = `options.topology.cpus.nodes[${node}]`;
        if (!/^\d+$/.test(node))
          throw new PoolArgumentError(field, "must be keyed by a node number");
        const list = checkCpuNumbers(cpus, field);
        for (const cpu of list)
          if (!online.includes(cpu))
            throw new PoolArgumentError(field, `names CPU ${cpu}, which is not online`);
        nodes.set(
          Number(node),
          list.sort((a, b) => a - b),
        );
      }
    }
    topologyCpus = { online, nodes };
  }
  return {
    topologyCpus,
    pci: topology.pci === undefined ? undefined : checkPciDescription(topology.pci),
  };
}

function checkHeartbeat(heartbeat: HeartbeatOptions | false | undefined) {
  if (heartbeat === false)
    return {
      heartbeatMs: 0,
      expirySeconds: 0,
      periodSeconds: 0,
      lockWaitSeconds: MAX_LOCK_WAIT_SECONDS,
    };
  if (heartbeat !== undefined && !isPlainObject(heartbeat))
    throw new PoolArgumentError("options.heartbeat", "must be false or { intervalMs?, expiryMs? }");
  const intervalMs = heartbeat?.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const expiryMs = heartbeat?.expiryMs ?? DEFAULT_HEARTBEAT_EXPIRY_MS;
  checkInteger(intervalMs, "options.heartbeat.intervalMs", 10, 3_600_000);
  checkInteger(expiryMs, "options.heartbeat.expiryMs", 2000, 86_400_000);
  if (expiryMs < 2 * intervalMs)
    throw new PoolArgumentError(
      "options.heartbeat.expiryMs",
      `must be at least twice intervalMs (${intervalMs})`,
    );
  const expirySeconds = Math.ceil(expiryMs / 1000);
  return {
    heartbeatMs: intervalMs,
    expirySeconds,
    // The watchdog looks this often; the anchor dies between expiry and expiry + period.
    periodSeconds: Math.max(1, Math.round(expirySeconds / 5)),
    // A wait for the lock must end well before the watchdog would take it for silence.
    lockWaitSeconds: Math.max(1, Math.min(MAX_LOCK_WAIT_SECONDS, Math.floor(expirySeconds / 3))),
  };
}

export function resolveOptions(options: PoolOptions): ResolvedOptions {
  if (!isPlainObject(options)) throw new PoolArgumentError("options", "must be an object");
  checkCallOptions({ signal: options.signal, timeoutMs: options.timeoutMs });
  const { stateDir } = options;
  if (
    stateDir !== undefined &&
    (typeof stateDir !== "string" || !stateDir.startsWith("/") || /[\0\n]/.test(stateDir))
  )
    throw new PoolArgumentError(
      "options.stateDir",
      `must be an absolute path without newlines (got ${JSON.stringify(stateDir)})`,
    );
  const portRanges: Record<string, PortRange> = { ...DEFAULT_PORT_RANGES };
  if (options.ports !== undefined) {
    if (!isPlainObject(options.ports))
      throw new PoolArgumentError("options.ports", "must map kinds to { from, to }");
    for (const [kind, range] of Object.entries(options.ports)) {
      if (!KIND_NAME.test(kind))
        throw new PoolArgumentError(
          `options.ports.${kind}`,
          "is not a valid kind name ([a-z][a-z0-9-]*)",
        );
      portRanges[kind] = checkRange(range, `options.ports.${kind}`);
    }
  }
  if (portRanges.display && portRanges.display.from < 5900)
    throw new PoolArgumentError(
      "options.ports.display.from",
      "must be at least 5900 (VNC display 0)",
    );
  let cpus: number[] | undefined;
  if (options.cpus !== undefined) {
    const parsed =
      typeof options.cpus === "string"
        ? parseCpuList(options.cpus)
        : checkCpuNumbers(options.cpus, "options.cpus");
    if (!parsed || parsed.length === 0)
      throw new PoolArgumentError(
        "options.cpus",
        `is not a CPU list (got ${JSON.stringify(options.cpus)})`,
      );
    cpus = parsed;
  }
  const fileMode = options.fileMode ?? DEFAULT_FILE_MODE;
  checkInteger(fileMode, "options.fileMode", 0, 0o666);
  if ((fileMode & 0o600) !== 0o600 || (fileMode & 0o111) !== 0)
    throw new PoolArgumentError(
      "options.fileMode",
      "must give the owner read and write, and nobody execute",
    );
  return {
    stateDir,
    portRanges: Object.freeze(portRanges),
    cpus,
    ...checkTopology(options.topology),
    ...checkHeartbeat(options.heartbeat),
    umask: (~fileMode & 0o777).toString(8).padStart(3, "0"),
  };
}
