/** `openPool()`'s options, checked and resolved (synchronously: programmer errors throw at once). */
import {
  checkCallOptions,
  checkObject,
  checkOptionKeys,
  InvalidArgumentError,
  type PortKind,
  parseCpuList,
} from "@qemu-kvm/core";
import { KIND_NAME } from "../records/records.js";
import type { PciFacts } from "../transactions/facts.js";
import type { HeartbeatOptions, PoolOptions, PortRange } from "../types.js";
import { checkCpuNumbers, checkInteger } from "./arguments.js";
import { checkTopology, type DescribedCpus } from "./topology.js";

/** The default port range of each of core's port kinds, close to the reference's bases. */
export const DEFAULT_PORT_RANGES: Readonly<Record<PortKind, PortRange>> = Object.freeze({
  forward: Object.freeze({ from: 6000, to: 6999 }),
  serial: Object.freeze({ from: 7000, to: 7999 }),
  migration: Object.freeze({ from: 8000, to: 8999 }),
  display: Object.freeze({ from: 5900, to: 5999 }),
});

/** Kinds renamed since earlier versions: an option naming the old one is refused, saying so. */
const RENAMED_KINDS: Readonly<Record<string, PortKind>> = { migrate: "migration" };

const OPTION_KEYS = [
  "signal",
  "timeoutMs",
  "stateDir",
  "ports",
  "cpus",
  "topology",
  "heartbeat",
  "fileMode",
] as const;

const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;
const DEFAULT_HEARTBEAT_EXPIRY_MS = 30_000;
/** The longest one wait for the lock lasts on the host before the client asks again. */
const MAX_LOCK_WAIT_SECONDS = 10;
const DEFAULT_FILE_MODE = 0o600;

export interface ResolvedOptions {
  stateDir: string | undefined;
  portRanges: Readonly<Record<string, PortRange>>;
  cpus: number[] | undefined;
  topologyCpus: DescribedCpus | undefined;
  pci: Map<string, PciFacts> | undefined;
  heartbeatMs: number;
  expirySeconds: number;
  periodSeconds: number;
  lockWaitSeconds: number;
  umask: string;
}

function checkRange(value: PortRange, field: string): PortRange {
  checkObject(value, field);
  checkOptionKeys(value, ["from", "to"], field);
  const from = checkInteger(value.from, `${field}.from`, 1, 65535);
  const to = checkInteger(value.to, `${field}.to`, 1, 65535);
  if (to < from)
    throw new InvalidArgumentError(field, "{ from, to } with from ≤ to", value, {
      problem: `is empty (${from} > ${to})`,
    });
  return Object.freeze({ from, to });
}

function checkPorts(ports: PoolOptions["ports"]): Readonly<Record<string, PortRange>> {
  const ranges: Record<string, PortRange> = { ...DEFAULT_PORT_RANGES };
  if (ports !== undefined) {
    checkObject(ports, "options.ports");
    for (const [kind, range] of Object.entries(ports)) {
      const field = `options.ports.${kind}`;
      const renamed = RENAMED_KINDS[kind];
      if (renamed)
        throw new InvalidArgumentError(field, `options.ports.${renamed}`, range, {
          problem: `is now options.ports.${renamed} (the port kind "${kind}" was renamed "${renamed}")`,
        });
      if (!KIND_NAME.test(kind))
        throw new InvalidArgumentError(field, "a kind name ([a-z][a-z0-9-]*)", kind, {
          problem: "is not a valid kind name ([a-z][a-z0-9-]*)",
        });
      ranges[kind] = checkRange(range, field);
    }
  }
  if (ranges.display && ranges.display.from < 5900)
    throw new InvalidArgumentError(
      "options.ports.display.from",
      "at least 5900 (VNC display 0)",
      ranges.display.from,
    );
  return Object.freeze(ranges);
}

function checkCpus(cpus: PoolOptions["cpus"]): number[] | undefined {
  if (cpus === undefined) return undefined;
  const parsed =
    typeof cpus === "string" ? parseCpuList(cpus) : checkCpuNumbers(cpus, "options.cpus");
  if (!parsed || parsed.length === 0)
    throw new InvalidArgumentError(
      "options.cpus",
      "a CPU list such as 2-15,18 (CPUs 0–8191)",
      cpus,
    );
  return parsed;
}

function checkHeartbeat(heartbeat: HeartbeatOptions | false | undefined) {
  if (heartbeat === false)
    return {
      heartbeatMs: 0,
      expirySeconds: 0,
      periodSeconds: 0,
      lockWaitSeconds: MAX_LOCK_WAIT_SECONDS,
    };
  if (heartbeat !== undefined) {
    checkObject(heartbeat, "options.heartbeat");
    checkOptionKeys(heartbeat, ["intervalMs", "expiryMs"], "options.heartbeat");
  }
  const intervalMs = heartbeat?.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const expiryMs = heartbeat?.expiryMs ?? DEFAULT_HEARTBEAT_EXPIRY_MS;
  checkInteger(intervalMs, "options.heartbeat.intervalMs", 10, 3_600_000);
  checkInteger(expiryMs, "options.heartbeat.expiryMs", 2000, 86_400_000);
  if (expiryMs < 2 * intervalMs)
    throw new InvalidArgumentError(
      "options.heartbeat.expiryMs",
      `at least twice intervalMs (${intervalMs})`,
      expiryMs,
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

/** The octal umask that gives the state and lock files `fileMode`. */
function checkFileMode(fileMode: number | undefined): string {
  const mode = fileMode ?? DEFAULT_FILE_MODE;
  checkInteger(mode, "options.fileMode", 0, 0o666);
  if ((mode & 0o600) !== 0o600 || (mode & 0o111) !== 0)
    throw new InvalidArgumentError(
      "options.fileMode",
      "a mode giving the owner read and write, and nobody execute",
      mode,
    );
  return (~mode & 0o777).toString(8).padStart(3, "0");
}

export function resolveOptions(options: PoolOptions): ResolvedOptions {
  checkCallOptions(options, OPTION_KEYS);
  const { stateDir } = options;
  if (
    stateDir !== undefined &&
    (typeof stateDir !== "string" || !stateDir.startsWith("/") || /[\0\n]/.test(stateDir))
  )
    throw new InvalidArgumentError(
      "options.stateDir",
      "an absolute path without newlines",
      stateDir,
    );
  return {
    stateDir,
    portRanges: checkPorts(options.ports),
    cpus: checkCpus(options.cpus),
    ...checkTopology(options.topology),
    ...checkHeartbeat(options.heartbeat),
    umask: checkFileMode(options.fileMode),
  };
}
