import { HmpParseError } from "../../errors.js";
import type { MigrationStatus } from "../../schema/names.js";
import { lines } from "./lines.js";

/** `info migrate`, numbers in the units QEMU prints (ms, kbytes, pages, mbps). */
export interface HmpMigrationInfo {
  /** `none` when no migration has been started (QEMU prints no status line then). */
  status: MigrationStatus | (string & {});
  /** The text in parentheses after a `failed` status. */
  errorDescription: string | undefined;
  /** `globals:` section (`store-global-state: on`…). */
  globals: Record<string, string>;
  /** Reasons listed under `Outgoing migration blocked:`. */
  blockedReasons: string[];
  totalTimeMs: number | undefined;
  expectedDowntimeMs: number | undefined;
  downtimeMs: number | undefined;
  setupTimeMs: number | undefined;
  transferredRamKiB: number | undefined;
  remainingRamKiB: number | undefined;
  totalRamKiB: number | undefined;
  throughputMbps: number | undefined;
  /** Every `key: value` line after the status, as printed (`transferred ram` → `341 kbytes`). */
  fields: Record<string, string>;
}

type Section = "start" | "globals" | "blocked" | "status";

/** `info migrate` text (QEMU 7.2 layout: `globals:`, then `Migration status: …` and statistics). */
export function parseInfoMigrate(text: string): HmpMigrationInfo {
  const info: HmpMigrationInfo = {
    status: "none",
    errorDescription: undefined,
    globals: {},
    blockedReasons: [],
    totalTimeMs: undefined,
    expectedDowntimeMs: undefined,
    downtimeMs: undefined,
    setupTimeMs: undefined,
    transferredRamKiB: undefined,
    remainingRamKiB: undefined,
    totalRamKiB: undefined,
    throughputMbps: undefined,
    fields: {},
  };
  const state = { section: "start" as Section, recognised: false };
  for (const line of lines(text)) if (line.trim() !== "") readLine(info, state, line);
  if (!state.recognised && text.trim() !== "") notInfoMigrate(text);
  readStatistics(info);
  return info;
}

function notInfoMigrate(line: string): never {
  throw new HmpParseError({ parser: "info migrate", line, reason: "not info migrate output" });
}

/** One line: a section heading, the status, a blocker, or a `key: value` of the section. */
function readLine(
  info: HmpMigrationInfo,
  state: { section: Section; recognised: boolean },
  line: string,
): void {
  const heading =
    line === "globals:" ? "globals" : /^Outgoing migration blocked:/.test(line) ? "blocked" : null;
  const status = heading ? null : /^Migration status: ([\w-]+)(?: \((.*)\))?\s*$/.exec(line);
  if (heading || status) {
    state.section = heading ?? "status";
    state.recognised = true;
    if (status) {
      info.status = status[1]!;
      info.errorDescription = status[2];
    }
    return;
  }
  if (state.section === "blocked" && /^\s/.test(line)) {
    info.blockedReasons.push(line.trim());
    return;
  }
  const pair = /^([^:]+):\s*(.*)$/.exec(line);
  if (!pair) {
    if (state.section === "start") notInfoMigrate(line);
    return;
  }
  const [key, value] = [pair[1]!.trim(), pair[2]!.trim()];
  if (state.section === "globals") info.globals[key] = value;
  else if (state.section !== "start") info.fields[key] = value;
  else if (key === "capabilities") {
    // QEMU before 2.x: "capabilities: xbzrle: off …" came first.
    info.fields[key] = value;
    state.recognised = true;
  } else notInfoMigrate(line);
}

/** The statistics QEMU prints with units, as numbers. */
function readStatistics(info: HmpMigrationInfo): void {
  const number = (key: string, unit: string) => {
    const match = new RegExp(`^([\\d.]+) ${unit}$`).exec(info.fields[key] ?? "");
    return match ? Number(match[1]) : undefined;
  };
  info.totalTimeMs = number("total time", "ms");
  info.expectedDowntimeMs = number("expected downtime", "ms");
  info.downtimeMs = number("downtime", "ms");
  info.setupTimeMs = number("setup", "ms");
  info.transferredRamKiB = number("transferred ram", "kbytes");
  info.remainingRamKiB = number("remaining ram", "kbytes");
  info.totalRamKiB = number("total ram", "kbytes");
  info.throughputMbps = number("throughput", "mbps");
}
