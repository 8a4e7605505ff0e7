import { constants } from "node:os";
import { HostArgumentError } from "./errors.js";
import type { Signal } from "./host.js";

const byNumber = new Map<number, NodeJS.Signals>();
for (const [name, number] of Object.entries(constants.signals)) {
  if (!byNumber.has(number)) byNumber.set(number, name as NodeJS.Signals);
}

/** `"SIGTERM"` for `"SIGTERM"`, `"TERM"` or `15`; throws `ERR_HOST_INVALID_ARGUMENT` for anything else. */
export function signalName(signal: Signal | string): NodeJS.Signals {
  if (typeof signal === "number") {
    const name = byNumber.get(signal);
    if (name === undefined)
      throw new HostArgumentError("signal", `${signal} is not a known signal number`);
    return name;
  }
  const name = (signal.startsWith("SIG") ? signal : `SIG${signal}`) as NodeJS.Signals;
  if (!(name in constants.signals))
    throw new HostArgumentError("signal", `${JSON.stringify(signal)} is not a known signal`);
  return name;
}

/** Throws `ERR_HOST_INVALID_ARGUMENT` unless `pid` is a positive safe integer (0 and -1 would signal groups). */
export function checkPid(pid: unknown): asserts pid is number {
  if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0)
    throw new HostArgumentError("pid", `must be a positive integer (got ${String(pid)})`);
}
